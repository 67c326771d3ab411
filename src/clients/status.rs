//! A client's account status: active, paused, digital marketing cancelled, or gone from the
//! platform. A change task sets it; the client's page and history show it.

/// A client's account status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Active,
    Paused,
    CancelledDms,
    LeftPlatform,
}

impl Status {
    pub const ALL: [Status; 4] = [
        Status::Active,
        Status::Paused,
        Status::CancelledDms,
        Status::LeftPlatform,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Paused => "paused",
            Status::CancelledDms => "cancelled_dms",
            Status::LeftPlatform => "left_platform",
        }
    }

    /// As lists and the client's page show it.
    pub fn label(self) -> &'static str {
        match self {
            Status::Active => "Active",
            Status::Paused => "Paused",
            Status::CancelledDms => "Digital marketing cancelled",
            Status::LeftPlatform => "Left the platform",
        }
    }

    /// As the change task offers it, saying what setting it does.
    pub fn task_label(self) -> &'static str {
        match self {
            Status::Active => "Active (new monthly budget)",
            Status::Paused => "Paused",
            Status::CancelledDms => "Digital marketing cancelled (still on the platform)",
            Status::LeftPlatform => "Left the platform",
        }
    }

    pub fn from_key(key: &str) -> Option<Status> {
        Self::ALL.into_iter().find(|s| s.key() == key)
    }

    /// A status as someone may type it in an imported file: its key or its label, in any case.
    pub fn from_typed(typed: &str) -> Option<Status> {
        Self::ALL
            .into_iter()
            .find(|s| s.key().eq_ignore_ascii_case(typed) || s.label().eq_ignore_ascii_case(typed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_labels_read_back_and_nothing_else_does() {
        for s in Status::ALL {
            assert_eq!(Status::from_key(s.key()), Some(s));
            assert_eq!(Status::from_typed(s.label()), Some(s));
            assert_eq!(Status::from_typed(&s.key().to_uppercase()), Some(s));
        }
        assert_eq!(Status::from_key("gone"), None);
        assert_eq!(Status::from_typed("gone"), None);
        assert_eq!(Status::from_key(""), None);
    }
}
