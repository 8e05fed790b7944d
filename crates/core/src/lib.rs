//! The academic core of eportal: every rule about scores, grades, GPA/CGPA, classes of degree,
//! score sheets and the approval workflow lives here, and so does the hash chain of the ledger
//! that records every change to them.
//!
//! This crate must never do I/O: no async, no database, no files, no clock. Functions take
//! plain values (bytes of a sheet, a grading policy, a list of attempts) and return plain
//! values, so every rule can be unit- and property-tested on its own. Numbers that matter
//! (scores, points, GPAs) are integers in fixed units, never `f64`.

pub mod amendment;
pub mod discipline;
pub mod domain;
pub mod gpa;
pub mod grading;
pub mod jobs;
pub mod ledger;
pub mod model;
pub mod policy_book;
pub mod regrade;
pub mod sheet;
pub mod workflow;

pub use domain::{AcademicSession, CourseCode, MatricNo, ParseError, Role, Score, Semester};
pub use gpa::Gpa;
pub use grading::GradingPolicy;
pub use policy_book::{PolicyBook, PolicyScope};
