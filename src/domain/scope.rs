//! Component scope, shared by notifications and readers' feeds: a scope naming component S
//! covers something that names component A when S is A or one of A's ancestors (scoping to
//! `platform` covers everything under it), or when A is one of S's ancestors (an incident on the
//! whole `platform` concerns `auth` too). Siblings and cousins never match. Something naming no
//! component concerns the whole page and is always covered.

use std::collections::HashMap;

/// Whether a scope (`all` = every component, else the item ids in `scope`) covers something
/// naming the items `affected`, given each item's parent.
pub fn covers(all: bool, scope: &[i64], affected: &[i64], parents: &HashMap<i64, i64>) -> bool {
    if all || affected.is_empty() {
        return true;
    }
    let chain = |mut id: i64| {
        let mut out = vec![id];
        // The hierarchy is a tree of bounded depth; the bound only guards against bad data.
        while let Some(&p) = parents.get(&id) {
            if out.len() > 64 || out.contains(&p) {
                break;
            }
            out.push(p);
            id = p;
        }
        out
    };
    affected.iter().any(|&a| {
        let up_from_a = chain(a);
        scope.iter().any(|&s| up_from_a.contains(&s) || chain(s).contains(&a))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_covers_the_line_of_descent_only() {
        // 1 platform → 2 api-gateway, 3 auth; 4 web.
        let parents = HashMap::from([(2, 1), (3, 1)]);
        assert!(covers(false, &[3], &[3], &parents), "the item itself");
        assert!(covers(false, &[3], &[1], &parents), "an ancestor");
        assert!(covers(false, &[1], &[3], &parents), "a descendant");
        assert!(!covers(false, &[3], &[2], &parents), "a sibling");
        assert!(!covers(false, &[3], &[4], &parents), "another tree");
        assert!(covers(false, &[3], &[], &parents), "nothing named: the whole page");
        assert!(covers(true, &[], &[4], &parents));
        assert!(!covers(false, &[], &[4], &parents), "an emptied scope covers only the whole page");
    }
}
