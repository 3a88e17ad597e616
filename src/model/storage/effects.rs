//! What an operation does to files, and whose data that destroys.

use serde::Serialize;

use super::layout::{Holder, Layout, Need};

/// The file-level effects of one libvirt operation, as libvirt 11.3 carries it out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Effects {
    /// Images whose content is replaced in place.
    pub rewritten: Vec<Rewrite>,
    /// Files libvirt deletes.
    pub removed: Vec<String>,
    /// Files libvirt creates.
    pub created: Vec<NewFile>,
    /// Internal snapshots removed from images: (image, snapshot name).
    pub internal_removed: Vec<(String, String)>,
    /// Block commits: `top`'s clusters are merged into `base` and `top` is deleted. Whoever
    /// reads through `top` keeps the same content afterwards (libvirt repoints them).
    pub commits: Vec<Commit>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rewrite {
    pub image: String,
    /// How, in libvirt's and QEMU's terms: "qemu-img snapshot -a i1", "block commit".
    pub how: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewFile {
    pub path: String,
    /// The image it is an overlay of.
    pub backing: Option<String>,
    /// What it is, e.g. "new overlay of vda".
    pub what: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Commit {
    pub top: String,
    pub base: String,
    /// Holders libvirt repoints from `top` to `base` (the VM's disk, the descendants' saved
    /// definitions); anyone else reading through `top` is left with a dangling backing file.
    pub relinked: Vec<Holder>,
}

/// Data that would be lost.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Damage {
    pub holder: Holder,
    pub image: String,
    pub how: DamageKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DamageKind {
    /// The image it needs is rewritten in place.
    Rewritten,
    /// The image it needs is deleted.
    Removed,
    /// Its internal snapshot is removed from the image.
    InternalRemoved,
}

impl Damage {
    /// "snapshot 'e1' keeps its data in vda.qcow2, which is rewritten".
    pub fn sentence(&self) -> String {
        let file = short(&self.image);
        let holder = self.holder.describe();
        match self.how {
            DamageKind::Rewritten => format!("{holder} needs {file}, which would be rewritten"),
            DamageKind::Removed => format!("{holder} needs {file}, which would be deleted"),
            DamageKind::InternalRemoved => {
                format!("{holder} is stored in {file} and would be removed")
            }
        }
    }
}

/// The file name of a path, for sentences (the full path is in the lists and in --json).
pub fn short(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

impl Effects {
    pub fn is_empty(&self) -> bool {
        self.rewritten.is_empty()
            && self.removed.is_empty()
            && self.created.is_empty()
            && self.internal_removed.is_empty()
            && self.commits.is_empty()
    }

    pub fn merge(&mut self, other: Effects) {
        self.rewritten.extend(other.rewritten);
        self.removed.extend(other.removed);
        self.created.extend(other.created);
        self.internal_removed.extend(other.internal_removed);
        self.commits.extend(other.commits);
    }
}

impl Layout {
    /// The data `effects` would destroy, for every holder but those in `spared` (what the
    /// operation means to discard: the current state of a revert, the deleted snapshots).
    pub fn damage(&self, effects: &Effects, holders: &[Holder], spared: &[Holder]) -> Vec<Damage> {
        let mut out = Vec::new();
        for holder in holders.iter().filter(|h| !spared.contains(h)) {
            let needs = self.needs(holder);
            let reads_through = |img: &str| needs.contains(&Need::Content(img.to_string()));
            for need in &needs {
                let hit = match need {
                    Need::Content(img) => {
                        let committed_into = effects
                            .commits
                            .iter()
                            .any(|c| &c.base == img && !reads_through(&c.top));
                        let committed_away = effects
                            .commits
                            .iter()
                            .any(|c| &c.top == img && !c.relinked.contains(holder));
                        if effects.removed.contains(img) || committed_away {
                            Some((img, DamageKind::Removed))
                        } else if committed_into
                            || effects.rewritten.iter().any(|r| &r.image == img)
                        {
                            Some((img, DamageKind::Rewritten))
                        } else {
                            None
                        }
                    }
                    Need::Internal { image, name } => {
                        if effects
                            .internal_removed
                            .iter()
                            .any(|(i, n)| i == image && n == name)
                        {
                            Some((image, DamageKind::InternalRemoved))
                        } else if effects.removed.contains(image) {
                            Some((image, DamageKind::Removed))
                        } else {
                            None
                        }
                    }
                };
                if let Some((image, how)) = hit {
                    let d = Damage {
                        holder: holder.clone(),
                        image: image.clone(),
                        how,
                    };
                    if !out.contains(&d) {
                        out.push(d);
                    }
                }
            }
        }
        out
    }
}
