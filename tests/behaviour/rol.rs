//! Placeholder: filled by the behaviour-case suite.
