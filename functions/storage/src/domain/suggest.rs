//! Where the next samples should go (docs/domain.md: least-empty box first, or next to the
//! same project's samples).
//!
//! - `least_empty`: fill the fullest box that still has room before opening another, so
//!   boxes are completed and freezers stay compact; ties go to the earlier path.
//! - `same_project`: boxes already holding the project's samples first (the most first),
//!   starting right after the project's last sample in fill order; then `least_empty`.

use super::grid::{Cell, Grid};
use std::collections::HashSet;
use tracseq_core::named_enum;

named_enum!(
    /// How positions are suggested.
    Rule {
        LeastEmpty => "least_empty",
        SameProject => "same_project",
    }
);

/// A candidate box as the suggester sees it.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub path: String,
    pub grid: Grid,
    pub taken: HashSet<Cell>,
    /// Cells holding the project's samples (empty unless the rule is `same_project`).
    pub project: Vec<Cell>,
}

impl Candidate {
    fn free(&self) -> u64 {
        self.grid.capacity().saturating_sub(self.taken.len() as u64)
    }

    /// Free cells in fill order, starting after `after` (wrapping) when given.
    fn free_cells(&self, after: Option<usize>) -> Vec<Cell> {
        let mut cells: Vec<Cell> = self.grid.cells().filter(|c| !self.taken.contains(c)).collect();
        if let Some(a) = after {
            let split = cells.partition_point(|c| self.grid.order_of(*c) <= a);
            cells.rotate_left(split);
        }
        cells
    }
}

/// Up to `count` (candidate index, cell) pairs, best first.
pub fn suggest(candidates: &[Candidate], count: usize, rule: Rule) -> Vec<(usize, Cell)> {
    let mut order: Vec<usize> = (0..candidates.len()).filter(|&i| candidates[i].free() > 0).collect();
    order.sort_by(|&a, &b| {
        let (x, y) = (&candidates[a], &candidates[b]);
        let by_project = match rule {
            Rule::SameProject => y.project.len().cmp(&x.project.len()),
            Rule::LeastEmpty => std::cmp::Ordering::Equal,
        };
        by_project.then(x.free().cmp(&y.free())).then(x.path.cmp(&y.path))
    });
    let mut out = Vec::with_capacity(count);
    for i in order {
        let c = &candidates[i];
        let after = match rule {
            Rule::SameProject => c.project.iter().map(|p| c.grid.order_of(*p)).max(),
            Rule::LeastEmpty => None,
        };
        for cell in c.free_cells(after) {
            if out.len() == count {
                return out;
            }
            out.push((i, cell));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::kinds::FillOrder;
    use super::*;

    fn cand(path: &str, rows: u16, cols: u16, taken: &[&str], project: &[&str]) -> Candidate {
        let grid = Grid::new(rows, cols, FillOrder::RowMajor).unwrap();
        let cells = |l: &[&str]| l.iter().map(|x| grid.parse(x).unwrap()).collect::<Vec<_>>();
        Candidate {
            path: path.into(),
            grid,
            taken: cells(taken).into_iter().collect(),
            project: cells(project),
        }
    }

    fn labels(cands: &[Candidate], got: &[(usize, Cell)]) -> Vec<String> {
        got.iter()
            .map(|(i, c)| format!("{}:{}", cands[*i].path, c.label()))
            .collect()
    }

    #[test]
    fn the_fullest_box_with_room_comes_first_and_spills_over() {
        let cands = vec![
            cand("A", 2, 2, &[], &[]),
            cand("B", 2, 2, &["A1", "A2"], &[]),
            cand("C", 2, 2, &["A1", "A2", "B1", "B2"], &[]),
        ];
        let got = suggest(&cands, 4, Rule::LeastEmpty);
        assert_eq!(labels(&cands, &got), ["B:B1", "B:B2", "A:A1", "A:A2"]);
        assert_eq!(suggest(&cands, 10, Rule::LeastEmpty).len(), 6, "only free cells");
        assert!(suggest(&cands[2..], 1, Rule::LeastEmpty).is_empty());
    }

    #[test]
    fn same_project_goes_next_to_its_samples() {
        let cands = vec![cand("A", 2, 3, &["A1"], &[]), cand("B", 2, 3, &["A1", "A2"], &["A2"])];
        let got = suggest(&cands, 3, Rule::SameProject);
        assert_eq!(labels(&cands, &got), ["B:A3", "B:B1", "B:B2"]);
        let got = suggest(&cands, 3, Rule::LeastEmpty);
        assert_eq!(labels(&cands, &got), ["B:A3", "B:B1", "B:B2"]);
        let cands = vec![
            cand("A", 2, 3, &["A1", "A2", "A3", "B1"], &[]),
            cand("B", 2, 3, &["B2"], &["B2"]),
        ];
        let got = suggest(&cands, 2, Rule::SameProject);
        assert_eq!(labels(&cands, &got), ["B:B3", "B:A1"], "after the last, then wrap");
        let got = suggest(&cands, 2, Rule::LeastEmpty);
        assert_eq!(labels(&cands, &got), ["A:B2", "A:B3"]);
    }
}
