//! Enums stored in TEXT columns: a row reads `Kind`, `State`, `Role`… straight from the
//! database, and a query binds the enum itself.
//!
//! Each enum keeps its keys in one place, its `key()`/`from_key()` pair in its domain's pure
//! rules, and every column holding them has a CHECK list a unit test compares with those keys.
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

    /// The quoted values of `CHECK ({column} IN (...))` in `sql` (the first such list).
    fn check_list(sql: &str, column: &str) -> Vec<String> {
        let start = sql
            .find(&format!("CHECK ({column} IN ("))
            .unwrap_or_else(|| panic!("no CHECK list for {column}"));
        let rest = &sql[start..];
        let list = &rest[..rest.find("))").expect("the list closes")];
        list.split('\'')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect()
    }

    fn same(column: &str, sql: &str, keys: impl IntoIterator<Item = &'static str>) {
        let mut keys: Vec<String> = keys.into_iter().map(str::to_string).collect();
        let mut listed = check_list(sql, column);
        keys.sort();
        listed.sort();
        assert_eq!(
            keys, listed,
            "{column}: the enum's keys and the CHECK list differ"
        );
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
        let checklists = include_str!("../../migrations/20261125000013_checklists.sql");
        same(
            "condition",
            checklists,
            ["always", "leave_platform"]
                .into_iter()
                .chain(ItemCondition::PRODUCTS),
        );
        for owner in check_list(checklists, "owner_role") {
            assert!(Role::from_key(&owner).is_some(), "owner_role {owner}");
        }
        let roles = include_str!("../../migrations/20261202000019_known_approver_roles.sql");
        same("approver_role", roles, Role::ALL.map(Role::key));
    }
}
