//! The status of a connector, spelled as Elasticsearch and the connector service write it, and
//! the connector protocol's state machine that `_status` follows.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectorStatus {
    Created,
    NeedsConfiguration,
    Configured,
    Connected,
    Error,
}

impl ConnectorStatus {
    pub const ALL: [Self; 5] = [
        Self::Created,
        Self::NeedsConfiguration,
        Self::Configured,
        Self::Connected,
        Self::Error,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::NeedsConfiguration => "needs_configuration",
            Self::Configured => "configured",
            Self::Connected => "connected",
            Self::Error => "error",
        }
    }

    /// A status named by a client or read from a stored connector, in any case, as
    /// Elasticsearch reads its `ConnectorStatus`; `None` for anything else.
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str().eq_ignore_ascii_case(value))
    }

    /// The status a stored connector holds, spelled exactly as written (a value written by
    /// someone else in another case is left as it is).
    pub fn stored(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == value)
    }

    /// The connector protocol's state machine, as `_status` enforces it: whether a connector in
    /// status `self` may move to `to`.
    pub fn may_become(self, to: Self) -> bool {
        use ConnectorStatus::*;
        matches!(
            (self, to),
            (Created, NeedsConfiguration | Error)
                | (NeedsConfiguration, Configured | Error)
                | (Configured, NeedsConfiguration | Configured | Connected | Error)
                | (Connected, Configured | Connected | Error)
                | (Error, Configured | Connected | Error)
        )
    }
}

impl fmt::Display for ConnectorStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ConnectorStatus::*;

    #[test]
    fn every_status_reads_back_from_its_name_in_any_case() {
        for status in ConnectorStatus::ALL {
            assert_eq!(ConnectorStatus::parse(status.as_str()), Some(status));
            assert_eq!(ConnectorStatus::stored(status.as_str()), Some(status));
        }
        assert_eq!(ConnectorStatus::parse("CONNECTED"), Some(Connected));
        assert_eq!(ConnectorStatus::stored("CONNECTED"), None);
        assert_eq!(ConnectorStatus::parse("bogus"), None);
    }

    #[test]
    fn the_state_machine_is_the_connector_protocols() {
        assert!(Created.may_become(NeedsConfiguration));
        assert!(Created.may_become(Error));
        assert!(!Created.may_become(Connected));
        assert!(!Created.may_become(Created));
        assert!(Configured.may_become(Configured));
        assert!(Connected.may_become(Connected));
        assert!(!Connected.may_become(NeedsConfiguration));
        assert!(Error.may_become(Connected));
        assert!(!NeedsConfiguration.may_become(Connected));
    }
}
