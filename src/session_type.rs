//! The four kinds of session, which double as the modes of a store handle.

use crate::error::{quote, Error, Result};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum SessionType {
    #[default]
    Agent,
    Team,
    Workflow,
    WorkflowV2,
}

impl SessionType {
    pub const ALL: [SessionType; 4] =
        [SessionType::Agent, SessionType::Team, SessionType::Workflow, SessionType::WorkflowV2];

    /// The name used in configs and in the stored `session_type` field.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionType::Agent => "agent",
            SessionType::Team => "team",
            SessionType::Workflow => "workflow",
            SessionType::WorkflowV2 => "workflow_v2",
        }
    }

    /// [`as_str`](Self::as_str) as a JSON string.
    pub fn quoted(self) -> &'static str {
        match self {
            SessionType::Agent => "\"agent\"",
            SessionType::Team => "\"team\"",
            SessionType::Workflow => "\"workflow\"",
            SessionType::WorkflowV2 => "\"workflow_v2\"",
        }
    }

    /// The field naming the agent, team or workflow a session belongs to.
    pub fn entity_field(self) -> &'static str {
        match self {
            SessionType::Agent => "agent_id",
            SessionType::Team => "team_id",
            SessionType::Workflow | SessionType::WorkflowV2 => "workflow_id",
        }
    }

    pub fn parse(name: &str) -> Result<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == name).ok_or_else(|| {
            Error::invalid_argument(format!(
                "unknown mode {}: expected \"agent\", \"team\", \"workflow\" or \"workflow_v2\"",
                quote(name)
            ))
        })
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for SessionType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn names_round_trip() {
        for t in SessionType::ALL {
            assert_eq!(SessionType::parse(t.as_str()).unwrap(), t);
        }
        assert_eq!(SessionType::parse("Agent").unwrap_err().kind, ErrorKind::InvalidArgument);
        assert_eq!(SessionType::parse("").unwrap_err().kind, ErrorKind::InvalidArgument);
    }

    #[test]
    fn workflow_modes_share_the_entity_field() {
        assert_eq!(SessionType::Agent.entity_field(), "agent_id");
        assert_eq!(SessionType::Team.entity_field(), "team_id");
        assert_eq!(SessionType::Workflow.entity_field(), "workflow_id");
        assert_eq!(SessionType::WorkflowV2.entity_field(), "workflow_id");
    }
}
