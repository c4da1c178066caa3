//! Plain-text tables and colours as upstream's two CLI generations print them.
//!
//! Widths count Unicode scalar values, as Python's `len(str)` and `format` padding do.

/// A table cell: text is left-aligned by 0.2x's `tabulate`, an integer right-aligned.
#[derive(Debug, Clone)]
pub enum Cell {
    Text(String),
    Int(u64),
}

impl Cell {
    fn text(&self) -> String {
        match self {
            Cell::Text(text) => text.clone(),
            Cell::Int(value) => value.to_string(),
        }
    }
}

fn width(text: &str) -> usize {
    text.chars().count()
}

fn pad(text: &str, width_wanted: usize, right: bool) -> String {
    let fill = " ".repeat(width_wanted.saturating_sub(width(text)));
    if right {
        format!("{fill}{text}")
    } else {
        format!("{text}{fill}")
    }
}

/// 0.2x `commands/_cli_utils.py::tabulate`: every cell followed by one space (so every line ends with
/// a space), strings left-aligned, integers right-aligned, a row of dashes under the headers.
pub fn tabulate_0x(rows: &[Vec<Cell>], headers: &[&str]) -> String {
    let widths: Vec<usize> = (0..headers.len())
        .map(|column| {
            rows.iter()
                .map(|row| width(&row[column].text()))
                .chain([width(headers[column])])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut lines = Vec::with_capacity(rows.len() + 2);
    let line = |cells: Vec<(String, bool)>| {
        cells
            .iter()
            .zip(&widths)
            .map(|((text, right), w)| format!("{} ", pad(text, *w, *right)))
            .collect::<String>()
    };
    lines.push(line(
        headers.iter().map(|h| (h.to_string(), false)).collect(),
    ));
    lines.push(line(
        widths.iter().map(|w| ("-".repeat(*w), false)).collect(),
    ));
    for row in rows {
        lines.push(line(
            row.iter()
                .map(|cell| (cell.text(), matches!(cell, Cell::Int(_))))
                .collect(),
        ));
    }
    lines.join("\n")
}

/// 2.x `utils/_terminal.py::tabulate`: columns joined by one space, left-aligned unless `right[i]`.
pub fn tabulate_2x(rows: &[Vec<String>], headers: &[String], right: &[bool]) -> String {
    let widths: Vec<usize> = (0..headers.len())
        .map(|column| {
            rows.iter()
                .map(|row| width(&row[column]))
                .chain([width(&headers[column])])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &[String]| {
        cells
            .iter()
            .enumerate()
            .map(|(i, text)| pad(text, widths[i], right[i]))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut lines = vec![line(headers)];
    lines.push(line(
        &widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>(),
    ));
    for row in rows {
        lines.push(line(row));
    }
    lines.join("\n")
}

/// 2.x `cli/_output.py::_truncate_columns`: shrink the widest column one character at a time until the
/// table fits `columns`, never below the header width (or 4); cut cells end with `...`.
/// Returns whether a cell was cut.
pub fn truncate_columns(headers: &[String], rows: &mut [Vec<String>], columns: usize) -> bool {
    if rows.is_empty() {
        return false;
    }
    let count = headers.len();
    let natural: Vec<usize> = (0..count)
        .map(|c| {
            rows.iter()
                .map(|row| width(&row[c]))
                .chain([width(&headers[c])])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let budget = columns as i64 - count.saturating_sub(1) as i64;
    if natural.iter().sum::<usize>() as i64 <= budget {
        return false;
    }
    let mut caps = natural.clone();
    let floors: Vec<usize> = headers.iter().map(|h| width(h).max(4)).collect();
    while (caps.iter().sum::<usize>() as i64) > budget {
        // Python's max() keeps the first of equal keys.
        let mut widest: Option<usize> = None;
        for i in 0..count {
            if caps[i] > floors[i] && widest.is_none_or(|w| caps[i] > caps[w]) {
                widest = Some(i);
            }
        }
        match widest {
            Some(i) => caps[i] -= 1,
            None => break,
        }
    }
    let mut truncated = false;
    for row in rows.iter_mut() {
        for (c, cell) in row.iter_mut().enumerate() {
            if width(cell) > caps[c] {
                truncated = true;
                let kept: String = cell.chars().take(caps[c].saturating_sub(3)).collect();
                *cell = format!("{kept}...");
            }
        }
    }
    truncated
}

/// ANSI styling as upstream's `ANSI` helper: nothing when disabled.
#[derive(Debug, Clone, Copy)]
pub struct Ansi {
    pub enabled: bool,
}

impl Ansi {
    /// Colours unless `NO_COLOR` is set to a non-empty value (0.2x rule; 2.x also needs human mode).
    pub fn from_env(env: &hub_cache::env::Env) -> Ansi {
        Ansi {
            enabled: env
                .get(hub_cache::env::NO_COLOR)
                .is_none_or(|value| value.is_empty()),
        }
    }

    fn wrap(self, text: &str, code: &str) -> String {
        if self.enabled {
            format!("{code}{text}\u{1b}[0m")
        } else {
            text.to_owned()
        }
    }

    pub fn bold(self, text: &str) -> String {
        self.wrap(text, "\u{1b}[1m")
    }

    pub fn gray(self, text: &str) -> String {
        self.wrap(text, "\u{1b}[90m")
    }

    /// Bold red, as upstream's `ANSI.red`.
    pub fn red(self, text: &str) -> String {
        self.wrap(text, "\u{1b}[1m\u{1b}[31m")
    }

    pub fn green(self, text: &str) -> String {
        self.wrap(text, "\u{1b}[32m")
    }

    pub fn yellow(self, text: &str) -> String {
        self.wrap(text, "\u{1b}[33m")
    }
}
