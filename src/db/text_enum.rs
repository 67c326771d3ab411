//! Enums stored in TEXT columns: a row reads `Kind`, `State`, `Role`… straight from the
//! database, and a query binds the enum itself.
//!
//! Each enum keeps its keys in one place, its `key()`/`from_key()` pair in its domain's pure
//! rules, and every TEXT column holding them has a CHECK list a unit test compares with those
//! keys (`users.roles`, an array, is checked by its own test in `auth::roles`).
//! This says how such a value crosses the wire: as the key's text, like any TEXT value (so
//! PostgreSQL needs no type lookup), and a value outside the keys fails the query loudly
//! ("unknown State \"open\""), never turning into a default.

/// Lets `$t` (with `fn key(self) -> &'static str` and `fn from_key(&str) -> Option<$t>`) be
/// read from and bound to TEXT columns, alone or as an array (`= ANY($1)`), and written into
/// JSON (audit records) as its key.
macro_rules! text_enum {
    ($($t:ty),+ $(,)?) => {$(
        impl ::sqlx::Type<::sqlx::Postgres> for $t {
            fn type_info() -> ::sqlx::postgres::PgTypeInfo {
                <&str as ::sqlx::Type<::sqlx::Postgres>>::type_info()
            }

            fn compatible(ty: &::sqlx::postgres::PgTypeInfo) -> bool {
                <&str as ::sqlx::Type<::sqlx::Postgres>>::compatible(ty)
            }
        }

        impl ::sqlx::postgres::PgHasArrayType for $t {
            fn array_type_info() -> ::sqlx::postgres::PgTypeInfo {
                <&str as ::sqlx::postgres::PgHasArrayType>::array_type_info()
            }

            fn array_compatible(ty: &::sqlx::postgres::PgTypeInfo) -> bool {
                <&str as ::sqlx::postgres::PgHasArrayType>::array_compatible(ty)
            }
        }

        impl ::sqlx::Encode<'_, ::sqlx::Postgres> for $t {
            fn encode_by_ref(
                &self,
                buf: &mut ::sqlx::postgres::PgArgumentBuffer,
            ) -> Result<::sqlx::encode::IsNull, ::sqlx::error::BoxDynError> {
                <&str as ::sqlx::Encode<::sqlx::Postgres>>::encode(self.key(), buf)
            }
        }

        // Audit records and job payloads carry the key too.
        impl ::serde::Serialize for $t {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.key())
            }
        }

        impl ::sqlx::Decode<'_, ::sqlx::Postgres> for $t {
            fn decode(
                value: ::sqlx::postgres::PgValueRef<'_>,
            ) -> Result<Self, ::sqlx::error::BoxDynError> {
                let key = <&str as ::sqlx::Decode<::sqlx::Postgres>>::decode(value)?;
                <$t>::from_key(key).ok_or_else(|| {
                    format!("unknown {} {key:?}", stringify!($t)).into()
                })
            }
        }
    )+};
}

pub(crate) use text_enum;

#[cfg(test)]
mod tests {
    use crate::approvals::rules::{Condition as StepCondition, StepState};
    use crate::auth::roles::Role;
    use crate::change_requests::rules::{CancelScope, Escalation, Kind, Outcome, State};
    use crate::checklists::rules::Condition as ItemCondition;
    use crate::clients::status::Status;

    /// The quoted values of every `CHECK ({column} IN (...))` list in `sql`, one list each.
    fn check_lists(sql: &str, column: &str) -> Vec<Vec<String>> {
        let opening = format!("CHECK ({column} IN (");
        let lists: Vec<Vec<String>> = sql
            .match_indices(&opening)
            .map(|(start, _)| {
                let rest = &sql[start..];
                let list = &rest[..rest.find("))").expect("the list closes")];
                list.split('\'')
                    .skip(1)
                    .step_by(2)
                    .map(str::to_string)
                    .collect()
            })
            .collect();
        assert!(!lists.is_empty(), "no CHECK list for {column}");
        lists
    }

    fn check_list(sql: &str, column: &str) -> Vec<String> {
        check_lists(sql, column).remove(0)
    }

    /// Every CHECK list for `column` in `sql` holds exactly `keys`.
    fn same(column: &str, sql: &str, keys: impl IntoIterator<Item = &'static str>) {
        let mut keys: Vec<String> = keys.into_iter().map(str::to_string).collect();
        keys.sort();
        for mut listed in check_lists(sql, column) {
            listed.sort();
            assert_eq!(
                keys, listed,
                "{column}: the enum's keys and the CHECK list differ"
            );
        }
    }

    /// Every TEXT column read as an enum allows exactly the enum's keys: a value the enum
    /// cannot read never gets in, and a key the column refuses never gets written.
    #[test]
    fn each_enum_column_allows_exactly_the_enums_keys() {
        let requests = include_str!("../../migrations/20261125000006_change_requests.sql");
        same("kind", requests, Kind::ALL.map(Kind::key));
        same("original_kind", requests, Kind::ALL.map(Kind::key));
        same("state", requests, State::ALL.map(State::key));
        same("escalation", requests, Escalation::ALL.map(Escalation::key));
        same(
            "cancel_scope",
            requests,
            CancelScope::ALL.map(CancelScope::key),
        );
        let repairs = include_str!("../../migrations/20261201000018_one_fact_one_value.sql");
        same(
            "original_cancel_scope",
            repairs,
            CancelScope::ALL.map(CancelScope::key),
        );
        let saves = include_str!("../../migrations/20261125000007_save_attempts.sql");
        same("outcome", saves, Outcome::ALL.map(Outcome::key));
        let approvals = include_str!("../../migrations/20261125000010_approvals.sql");
        same(
            "condition",
            approvals,
            StepCondition::ALL.map(StepCondition::key),
        );
        same("state", approvals, StepState::ALL.map(StepState::key));
        let clients = include_str!("../../migrations/20261125000003_clients.sql");
        same("status", clients, Status::ALL.map(Status::key));
        let history = include_str!("../../migrations/20261125000005_clients_history.sql");
        same("status", history, Status::ALL.map(Status::key));
        // The planner holds cancellations and pauses only: each key it allows is a Kind.
        let operations = include_str!("../../migrations/20261125000011_operations.sql");
        for kind in check_list(operations, "kind") {
            assert!(Kind::from_key(&kind).is_some(), "planner kind {kind}");
        }
        let checklists = include_str!("../../migrations/20261125000013_checklists.sql");
        same(
            "condition",
            checklists,
            ["always", "leave_platform"]
                .into_iter()
                .chain(ItemCondition::PRODUCTS),
        );
        for owner in check_lists(checklists, "owner_role").concat() {
            assert!(Role::from_key(&owner).is_some(), "owner_role {owner}");
        }
        let known = include_str!("../../migrations/20261202000019_known_keys.sql");
        same("approver_role", known, Role::ALL.map(Role::key));
        same("status_before", known, Status::ALL.map(Status::key));
        let signing = include_str!("../../migrations/20261212000029_signing_records.sql");
        use crate::signing::{chain::EventKind, rules::State as SignatureState};
        same(
            "state",
            signing,
            SignatureState::ALL.map(SignatureState::key),
        );
        same("kind", signing, EventKind::ALL.map(EventKind::key));
    }
}
