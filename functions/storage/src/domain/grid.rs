//! Box and plate grids: rows labelled by letters (`A`…`Z`, then `AA`…), columns by
//! numbers from 1, positions like `H12`; filled row by row or column by column.
//! Sizes up to 32 × 48 cover every SBS plate (1536 wells) and any box.

use super::kinds::FillOrder;

pub const MAX_ROWS: u16 = 32;
pub const MAX_COLUMNS: u16 = 48;

/// One position, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cell {
    pub row: u16,
    pub column: u16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grid {
    pub rows: u16,
    pub columns: u16,
    pub fill: FillOrder,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GridError {
    #[error("a grid has 1 to {MAX_ROWS} rows and 1 to {MAX_COLUMNS} columns")]
    Size,
    #[error("{0:?} is not a position like A1")]
    Label(String),
    #[error("{label} is outside this {rows} x {columns} grid")]
    Outside { label: String, rows: u16, columns: u16 },
}

/// `1 → A`, `26 → Z`, `27 → AA` (bijective base 26).
pub fn row_label(mut row: u16) -> String {
    let mut out = Vec::new();
    while row > 0 {
        let r = (row - 1) % 26;
        out.push(b'A' + r as u8);
        row = (row - 1) / 26;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

impl Cell {
    pub fn label(self) -> String {
        format!("{}{}", row_label(self.row), self.column)
    }
}

impl Grid {
    pub fn new(rows: u16, columns: u16, fill: FillOrder) -> Result<Self, GridError> {
        if !(1..=MAX_ROWS).contains(&rows) || !(1..=MAX_COLUMNS).contains(&columns) {
            return Err(GridError::Size);
        }
        Ok(Self { rows, columns, fill })
    }

    pub fn capacity(&self) -> u64 {
        u64::from(self.rows) * u64::from(self.columns)
    }

    /// The cell a label names (case and surrounding spaces forgiven: `h12`, ` H12 `).
    pub fn parse(&self, label: &str) -> Result<Cell, GridError> {
        let t = label.trim().to_ascii_uppercase();
        let split = t.find(|c: char| c.is_ascii_digit()).unwrap_or(t.len());
        let (letters, digits) = t.split_at(split);
        let bad = || GridError::Label(label.to_owned());
        if letters.is_empty() || letters.len() > 2 || !letters.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(bad());
        }
        if digits.is_empty()
            || digits.starts_with('0')
            || digits.len() > 3
            || !digits.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(bad());
        }
        let row = letters.bytes().fold(0u16, |acc, b| acc * 26 + u16::from(b - b'A' + 1));
        let column: u16 = digits.parse().map_err(|_| bad())?;
        if row > self.rows || column > self.columns {
            return Err(GridError::Outside {
                label: t,
                rows: self.rows,
                columns: self.columns,
            });
        }
        Ok(Cell { row, column })
    }

    /// Every cell in fill order.
    pub fn cells(&self) -> impl Iterator<Item = Cell> + '_ {
        let (outer, inner) = match self.fill {
            FillOrder::RowMajor => (self.rows, self.columns),
            FillOrder::ColumnMajor => (self.columns, self.rows),
        };
        (1..=outer).flat_map(move |o| {
            (1..=inner).map(move |i| match self.fill {
                FillOrder::RowMajor => Cell { row: o, column: i },
                FillOrder::ColumnMajor => Cell { row: i, column: o },
            })
        })
    }

    /// A cell's place in fill order (0-based).
    pub fn order_of(&self, c: Cell) -> usize {
        let (r, col) = (usize::from(c.row - 1), usize::from(c.column - 1));
        match self.fill {
            FillOrder::RowMajor => r * usize::from(self.columns) + col,
            FillOrder::ColumnMajor => col * usize::from(self.rows) + r,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_round_trip_over_the_largest_grid() {
        let g = Grid::new(MAX_ROWS, MAX_COLUMNS, FillOrder::RowMajor).unwrap();
        assert_eq!(g.capacity(), 1536);
        let mut seen = 0;
        for (i, c) in g.cells().enumerate() {
            assert_eq!(g.parse(&c.label()).unwrap(), c);
            assert_eq!(g.order_of(c), i);
            seen += 1;
        }
        assert_eq!(seen, 1536);
        assert_eq!(row_label(1), "A");
        assert_eq!(row_label(26), "Z");
        assert_eq!(row_label(27), "AA");
        assert_eq!(row_label(32), "AF");
    }

    #[test]
    fn fill_order_decides_the_sequence() {
        let rows = Grid::new(8, 12, FillOrder::RowMajor).unwrap();
        let cols = Grid::new(8, 12, FillOrder::ColumnMajor).unwrap();
        let first = |g: &Grid| g.cells().take(3).map(|c| c.label()).collect::<Vec<_>>();
        assert_eq!(first(&rows), ["A1", "A2", "A3"]);
        assert_eq!(first(&cols), ["A1", "B1", "C1"]);
        assert_eq!(cols.cells().last().unwrap().label(), "H12");
        for (i, c) in cols.cells().enumerate() {
            assert_eq!(cols.order_of(c), i);
        }
    }

    #[test]
    fn bad_labels_and_sizes_are_refused() {
        let g = Grid::new(9, 9, FillOrder::RowMajor).unwrap();
        assert_eq!(g.parse(" i9 ").unwrap(), Cell { row: 9, column: 9 });
        for bad in ["", "A", "1", "A0", "A01", "9A", "A-1", "AAA1", "A1234", "Ä1"] {
            assert!(matches!(g.parse(bad), Err(GridError::Label(_))), "{bad}");
        }
        assert!(matches!(g.parse("J1"), Err(GridError::Outside { .. })));
        assert!(matches!(g.parse("A10"), Err(GridError::Outside { .. })));
        assert_eq!(Grid::new(0, 5, FillOrder::RowMajor), Err(GridError::Size));
        assert_eq!(Grid::new(33, 5, FillOrder::RowMajor), Err(GridError::Size));
        assert_eq!(Grid::new(5, 49, FillOrder::RowMajor), Err(GridError::Size));
    }
}
