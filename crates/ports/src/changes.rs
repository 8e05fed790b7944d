//! Counting what a sheet does to a course's scores, the same way in every store: how many
//! scores it adds, changes, leaves as they were and removes, with the matric numbers people
//! need to check (changed and removed), and the words a held sheet is shown with.

use crate::store::SheetChanges;

/// Changes counted while a store compares a sheet with the current records.
#[derive(Debug, Default)]
pub struct ChangeTally {
    pub added: u32,
    pub unchanged: u32,
    pub changed: Vec<String>,
    pub removed: Vec<String>,
}

impl ChangeTally {
    /// The counts, with the changed and removed matric numbers in order (the first
    /// [`SheetChanges::LISTED`] of each).
    pub fn finish(mut self) -> SheetChanges {
        let count = |v: &[String]| u32::try_from(v.len()).unwrap_or(u32::MAX);
        let (changed, removed) = (count(&self.changed), count(&self.removed));
        for list in [&mut self.changed, &mut self.removed] {
            list.sort();
            list.truncate(SheetChanges::LISTED);
        }
        SheetChanges {
            added: self.added,
            changed,
            unchanged: self.unchanged,
            removed,
            changed_matrics: self.changed,
            removed_matrics: self.removed,
        }
    }
}

/// Why a sheet is held, and what the lecturer can do about it.
pub fn held_message(c: &SheetChanges) -> String {
    let who = match c.removed {
        1 => "1 student who is not on it".to_string(),
        n => format!("{n} students who are not on it"),
    };
    let mut listed = c.removed_matrics.join(", ");
    if (c.removed_matrics.len() as u32) < c.removed {
        listed.push_str(&format!(
            " and {} more",
            c.removed - c.removed_matrics.len() as u32
        ));
    }
    format!(
        "nothing has changed yet: this sheet would remove the scores of {who} ({listed}), \
         add {} and change {}; confirm the removal to apply it, or upload the file again in \
         \"add rows\" mode to keep their scores",
        c.added, c.changed
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_lists_in_order_with_a_cap() {
        let mut t = ChangeTally {
            added: 2,
            unchanged: 5,
            changed: vec!["B/2".into(), "A/1".into()],
            removed: (0..150).map(|i| format!("R/{i:03}")).collect(),
        };
        t.removed.reverse();
        let c = t.finish();
        assert_eq!((c.added, c.changed, c.unchanged, c.removed), (2, 2, 5, 150));
        assert_eq!(c.changed_matrics, ["A/1", "B/2"]);
        assert_eq!(c.removed_matrics.len(), SheetChanges::LISTED);
        assert_eq!(c.removed_matrics[0], "R/000");
        let m = held_message(&c);
        assert!(m.contains("remove the scores of 150 students"), "{m}");
        assert!(m.contains("R/099 and 50 more"), "{m}");
        assert!(m.contains("add 2 and change 2"), "{m}");
    }
}
