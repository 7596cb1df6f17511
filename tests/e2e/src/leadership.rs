//! Leadership as the candidates' guarded work saw it, for the leader-election tests.

use std::sync::{Arc, Mutex};

use kubegen_runtime::leaderelection::{CancellationToken, LeaderCallbacks};
use tokio::time::Instant;

/// Leadership intervals as the candidates' guarded work saw them.
#[derive(Clone, Default)]
pub struct Intervals(Arc<Mutex<Vec<Interval>>>);

/// Who led, from when, until when (`None` while leading).
pub type Interval = (String, Instant, Option<Instant>);

impl Intervals {
    /// Callbacks for candidate `name` that record when its guarded work ran.
    pub fn callbacks(&self, name: &str) -> LeaderCallbacks {
        let intervals = self.clone();
        let name = name.to_owned();
        LeaderCallbacks::new(
            move |token: CancellationToken| {
                let intervals = intervals.clone();
                let name = name.clone();
                async move {
                    let index = {
                        let mut list = intervals.0.lock().unwrap();
                        list.push((name, Instant::now(), None));
                        list.len() - 1
                    };
                    token.cancelled().await;
                    intervals.0.lock().unwrap()[index].2 = Some(Instant::now());
                }
            },
            || {},
        )
    }

    /// Every interval so far.
    pub fn snapshot(&self) -> Vec<Interval> {
        self.0.lock().unwrap().clone()
    }

    /// Fails if two leadership intervals overlap.
    pub fn assert_never_two_leaders(&self) {
        let mut list = self.snapshot();
        list.sort_by_key(|i| i.1);
        for pair in list.windows(2) {
            let (first, second) = (&pair[0], &pair[1]);
            let end = first.2.unwrap_or_else(|| {
                panic!("{} led until the end but {} also led", first.0, second.0)
            });
            assert!(
                end <= second.1,
                "{} started leading {:?} before {} stopped",
                second.0,
                end - second.1,
                first.0
            );
        }
    }
}
