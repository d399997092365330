//! Each call's id for `{call}` in file paths: the subscription id made
//! file-safe ([`file_safe`]: no `.`/`..`/empty, long ids cut and hashed),
//! and unique: a call whose id is taken (by a running call, or by files a
//! previous call left) gets a suffix (`-2`, `-3`, ...), so one call never
//! truncates another's files.

use sluice_nodes::acs::ids::file_safe;
use std::collections::HashSet;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

/// The ids of the calls running now.
#[derive(Debug, Default)]
pub struct CallIds {
    active: Mutex<HashSet<String>>,
}

/// A running call's id, released when dropped.
#[derive(Debug)]
pub struct Claim {
    id: String,
    ids: Arc<CallIds>,
}

impl Claim {
    /// The id to put in place of `{call}`.
    pub fn id(&self) -> &str {
        &self.id
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        self.ids.lock().remove(&self.id);
    }
}

impl CallIds {
    /// Claims an id for a call with `subscription_id` whose graph writes
    /// `templates` (strings holding `{call}`): the first of `base`,
    /// `base-2`, `base-3`, ... that no running call holds and that names
    /// no existing file.
    pub fn claim(self: &Arc<Self>, subscription_id: &str, templates: &[String]) -> Claim {
        let base = file_safe(subscription_id);
        let mut active = self.lock();
        let id = (1u64..)
            .map(|n| match n {
                1 => base.clone(),
                n => format!("{base}-{n}"),
            })
            .find(|id| !active.contains(id) && !templates.iter().any(|t| taken(t, id)))
            .unwrap_or(base);
        active.insert(id.clone());
        Claim {
            id,
            ids: self.clone(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.active.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Whether `template` with `id` names something that exists (a previous
/// call's file or folder).
fn taken(template: &str, id: &str) -> bool {
    let path = template.replace("{call}", id);
    let path = Path::new(&path);
    if path.exists() {
        return true;
    }
    // `out/{call}/levels.jsonl`: a previous call's folder counts too.
    let before = template.split("{call}").next().unwrap_or("");
    let folder = format!("{before}{id}");
    template.contains("{call}/") && Path::new(&folder).is_dir()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_calls_with_one_id_get_distinct_ids() {
        let ids = Arc::new(CallIds::default());
        let a = ids.claim("same", &[]);
        let b = ids.claim("same", &[]);
        let c = ids.claim("same", &[]);
        assert_eq!((a.id(), b.id(), c.id()), ("same", "same-2", "same-3"));
        drop(b);
        assert_eq!(ids.claim("same", &[]).id(), "same-2");
    }

    #[test]
    fn files_a_previous_call_left_are_not_reused() {
        let dir = tempfile::tempdir().unwrap();
        let t = format!("{}/{{call}}/levels.jsonl", dir.path().display());
        std::fs::create_dir_all(dir.path().join("abc")).unwrap();
        std::fs::write(dir.path().join("abc/levels.jsonl"), "old").unwrap();
        let ids = Arc::new(CallIds::default());
        assert_eq!(ids.claim("abc", std::slice::from_ref(&t)).id(), "abc-2");
        let flat = format!("{}/{{call}}.wav", dir.path().display());
        std::fs::write(dir.path().join("x.wav"), "old").unwrap();
        assert_eq!(ids.claim("x", &[flat]).id(), "x-2");
    }

    #[test]
    fn dot_and_empty_ids_stay_in_their_folder() {
        let ids = Arc::new(CallIds::default());
        for raw in ["..", ".", ""] {
            let c = ids.claim(raw, &[]);
            assert!(c.id().starts_with("call"), "{raw:?} -> {}", c.id());
        }
    }
}
