//! Where the loaders and the model builder put the errors they find.
//!
//! Every error names its place (the file, the JSON pointer inside it and, for
//! CRDs, the CRD name and version; see [`Location`](crate::Location)). What
//! happens next is the [`Policy`]: fail the run, or skip the broken input and
//! go on (`--keep-going`), reporting it at the end.

use crate::error::{Error, Result};

/// What to do with an input that cannot be used.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Policy {
    /// Fail at the next [`Diagnostics::checkpoint`], with every error found
    /// since the last one (a loader checks after each file, the model builder
    /// after converting all definitions and CRDs, so one run reports all of a
    /// spec's broken definitions at once).
    #[default]
    Stop,
    /// Leave the input out and go on; the errors end up in
    /// [`Model::skipped`](crate::model::Model::skipped).
    KeepGoing,
}

/// The errors found so far, and what to do about them.
#[derive(Debug, Default)]
pub struct Diagnostics {
    policy: Policy,
    errors: Vec<Error>,
}

impl Diagnostics {
    /// An empty sink with `policy`.
    pub fn new(policy: Policy) -> Self {
        Self {
            policy,
            errors: Vec::new(),
        }
    }

    /// [`Policy::KeepGoing`] when `keep_going`, else [`Policy::Stop`].
    pub fn keep_going(keep_going: bool) -> Self {
        Self::new(if keep_going {
            Policy::KeepGoing
        } else {
            Policy::Stop
        })
    }

    /// Records an error; under [`Policy::Stop`] it fails the next checkpoint.
    pub fn report(&mut self, error: Error) {
        self.errors.push(error);
    }

    /// Under [`Policy::Stop`], fails with what was reported (one error as it
    /// is, several as [`Error::Many`]); otherwise lets the run go on.
    pub fn checkpoint(&mut self) -> Result<()> {
        if self.policy == Policy::KeepGoing || self.errors.is_empty() {
            return Ok(());
        }
        let mut errors = std::mem::take(&mut self.errors);
        Err(if errors.len() == 1 {
            errors.remove(0)
        } else {
            Error::Many(errors)
        })
    }

    /// [`report`](Self::report) then [`checkpoint`](Self::checkpoint): for
    /// inputs where a failure should stop the run before the next one is read.
    pub fn fail_or_skip(&mut self, error: Error) -> Result<()> {
        self.report(error);
        self.checkpoint()
    }

    /// What was skipped, for [`Model::skipped`](crate::model::Model::skipped)
    /// (after a final checkpoint, empty under [`Policy::Stop`]).
    pub fn into_skipped(self) -> Vec<Error> {
        self.errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(s: &str) -> Error {
        Error::Usage(s.to_owned())
    }

    #[test]
    fn stop_fails_at_the_checkpoint_with_everything_reported_before_it() {
        let mut d = Diagnostics::new(Policy::Stop);
        assert!(d.checkpoint().is_ok());
        d.report(usage("a"));
        d.report(usage("b"));
        match d.checkpoint() {
            Err(Error::Many(es)) => assert_eq!(es.len(), 2),
            other => panic!("expected two errors, got {other:?}"),
        }
        // Reported errors are handed over once.
        assert!(d.checkpoint().is_ok());
        assert!(matches!(d.fail_or_skip(usage("c")), Err(Error::Usage(m)) if m == "c"));
    }

    #[test]
    fn keep_going_collects_what_was_skipped() {
        let mut d = Diagnostics::keep_going(true);
        d.report(usage("a"));
        assert!(d.fail_or_skip(usage("b")).is_ok());
        assert!(d.checkpoint().is_ok());
        let skipped: Vec<String> = d.into_skipped().iter().map(Error::to_string).collect();
        assert_eq!(skipped, ["a", "b"]);
    }
}
