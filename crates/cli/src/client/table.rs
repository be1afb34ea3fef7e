//! A plain aligned-column table: a header row, then rows, columns two spaces apart,
//! numbers right-aligned, no trailing spaces. Widths count characters, not bytes.

/// How a column's cells line up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// Text.
    Left,
    /// Numbers.
    Right,
}

/// A table being built.
pub struct Table {
    headers: Vec<String>,
    align: Vec<Align>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headers, every column left-aligned.
    pub fn new<S: Into<String>>(headers: impl IntoIterator<Item = S>) -> Self {
        let headers: Vec<String> = headers.into_iter().map(Into::into).collect();
        let align = vec![Align::Left; headers.len()];
        Self {
            headers,
            align,
            rows: Vec::new(),
        }
    }

    /// Right-aligns the columns at these indexes.
    pub fn right(mut self, columns: &[usize]) -> Self {
        for &c in columns {
            if let Some(a) = self.align.get_mut(c) {
                *a = Align::Right;
            }
        }
        self
    }

    /// Adds a row; missing cells are blank, extra cells are dropped.
    pub fn row<S: Into<String>>(&mut self, cells: impl IntoIterator<Item = S>) {
        let mut cells: Vec<String> = cells.into_iter().map(Into::into).collect();
        cells.resize(self.headers.len(), String::new());
        self.rows.push(cells);
    }

    /// The table as text, each line ending in a newline.
    pub fn render(&self) -> String {
        let width = |s: &str| s.chars().count();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| width(h)).collect();
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(width(cell));
            }
        }
        let mut out = String::new();
        for row in std::iter::once(&self.headers).chain(&self.rows) {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate() {
                if i > 0 {
                    line.push_str("  ");
                }
                let pad = " ".repeat(widths[i] - width(cell));
                match self.align[i] {
                    Align::Left => {
                        line.push_str(cell);
                        line.push_str(&pad);
                    }
                    Align::Right => {
                        line.push_str(&pad);
                        line.push_str(cell);
                    }
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_as_wide_as_their_widest_cell_and_numbers_align_right() {
        let mut t = Table::new(["NAME", "STATE", "SENT"]).right(&[2]);
        t.row(["es-demo", "RUNNING", "5000"]);
        t.row(["x", "FAILED", "7"]);
        assert_eq!(
            t.render(),
            "NAME     STATE    SENT\n\
             es-demo  RUNNING  5000\n\
             x        FAILED      7\n"
        );
    }

    #[test]
    fn lines_have_no_trailing_spaces_and_short_rows_are_padded() {
        let mut t = Table::new(["A", "DESCRIPTION"]);
        t.row(["long-value"]);
        t.row(["b", "text"]);
        let text = t.render();
        assert!(text.lines().all(|l| !l.ends_with(' ')), "{text:?}");
        assert_eq!(
            text,
            "A           DESCRIPTION\nlong-value\nb           text\n"
        );
    }

    #[test]
    fn widths_count_characters_not_bytes() {
        let mut t = Table::new(["K", "V"]);
        t.row(["é€", "1"]);
        t.row(["ab", "2"]);
        assert_eq!(t.render(), "K   V\né€  1\nab  2\n");
    }

    #[test]
    fn a_table_without_rows_is_just_the_header() {
        assert_eq!(Table::new(["ID", "STATE"]).render(), "ID  STATE\n");
    }
}
