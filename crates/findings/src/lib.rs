//! The findings model every step emits, and every report format it is written in.
//!
//! Data flows one way: a step builds a [`Report`], applies the [`Exceptions`] file, asks the
//! [`gate`] for a verdict, and hands the report to the writers. No step formats a report
//! itself.

pub mod cli;
pub mod context;
pub mod exceptions;
pub mod gate;
pub mod model;
pub mod project_config;
pub mod writers;

pub use exceptions::{Exceptions, ExceptionsError};
pub use gate::{evaluate, Exit, FailOn, Verdict};
pub use model::{
    Control, ExpiredException, Feature, Finding, Framework, Location, Report, Rule, Scenario,
    Severity, Status, Step, StepStatus, Suppression, Target, Tool, Totals,
};
