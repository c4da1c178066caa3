//! The checkbox list of `hfhub delete-cache` (what 0.25 draws with InquirerPy), drawn with crossterm
//! on the alternate screen:
//!
//! ```text
//! ? Select revisions to delete: 2 revisions selected counting for 1.9M.
//! ❯ ○ None of the following (if selected, nothing will be deleted).
//!
//!   Model gpt2 (1.9M, used 3 years ago)
//!   ◉ 3675d6da: (detached) # modified 3 years ago
//!   ◉ 11c5a3d5: main # modified 3 years ago
//! Press <space> to select, <enter> to validate and <ctrl+c> to quit without modification.
//! ```
//!
//! Up/down move (no wrap-around), space toggles, enter validates, Ctrl-C quits selecting nothing.

use std::io::{Write, stdout};

use anyhow::Context as _;
use crossterm::event::{Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use crossterm::{cursor, execute, queue, style, terminal};
use hub_cache::format::{Flavour, format_timesince_now};
use hub_cache::scan::Report;

use super::choices::{CANCEL_DELETION, Group, expectation, refs_text, repo_title};

/// Printed when stdin or stdout is not a terminal.
pub const NOT_A_TERMINAL: &str = "delete-cache needs an interactive terminal for its selection list. \
Use `hfhub delete-cache --disable-tui` to review the deletion in a text file, or \
`hfhub cache rm <repo or revision>...` to delete without prompting.";

/// Printed when the terminal cannot show the list.
pub const TOO_SMALL: &str = "the terminal is too small for the selection list (at least 40 columns \
and 8 lines are needed). Enlarge it, or use `hfhub delete-cache --disable-tui` to review the \
deletion in a text file, or `hfhub cache rm <repo or revision>...` to delete without prompting.";

const MIN_COLUMNS: u16 = 40;
const MIN_ROWS: u16 = 8;
const PROMPT: &str = "Select revisions to delete:";
const HELP: &str =
    "Press <space> to select, <enter> to validate and <ctrl+c> to quit without modification.";

/// What the list returned.
#[derive(Debug)]
pub enum Selection {
    /// The values of the checked choices in list order (empty after Ctrl-C).
    Chosen(Vec<String>),
    /// The terminal is too small; nothing was drawn.
    TooSmall,
}

struct Choice {
    value: String,
    label: String,
    checked: bool,
}

enum Row {
    Text(String),
    Choice(usize),
}

/// Restores the terminal however the list ends.
struct Screen;

impl Screen {
    fn enter() -> anyhow::Result<Screen> {
        terminal::enable_raw_mode().context("cannot switch the terminal to raw mode")?;
        let screen = Screen;
        execute!(stdout(), terminal::EnterAlternateScreen, cursor::Hide)
            .context("cannot draw on the terminal")?;
        Ok(screen)
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        let _ = execute!(stdout(), cursor::Show, terminal::LeaveAlternateScreen);
        let _ = terminal::disable_raw_mode();
    }
}

/// Shows the list and lets the user check revisions.
pub fn select(report: &Report, groups: &[Group]) -> anyhow::Result<Selection> {
    let (columns, rows) = terminal::size().context("cannot read the terminal size")?;
    if columns < MIN_COLUMNS || rows < MIN_ROWS {
        return Ok(Selection::TooSmall);
    }
    let mut choices = vec![Choice {
        value: CANCEL_DELETION.to_owned(),
        label: "None of the following (if selected, nothing will be deleted).".to_owned(),
        checked: false,
    }];
    let mut lines = vec![Row::Choice(0)];
    for (repo, revisions) in groups {
        lines.push(Row::Text(String::new()));
        lines.push(Row::Text(repo_title(repo)));
        for revision in revisions {
            lines.push(Row::Choice(choices.len()));
            choices.push(Choice {
                value: revision.commit_hash.clone(),
                label: format!(
                    "{}: {} # modified {}",
                    &revision.commit_hash[..revision.commit_hash.len().min(8)],
                    refs_text(revision),
                    format_timesince_now(revision.last_modified, Flavour::V0x)
                ),
                checked: false,
            });
        }
    }
    let interrupted = {
        let _screen = Screen::enter()?;
        run_list(report, &mut choices, &lines)?
    };
    let selected: Vec<String> = if interrupted {
        Vec::new()
    } else {
        choices
            .iter()
            .filter(|c| c.checked)
            .map(|c| c.value.clone())
            .collect()
    };
    if !interrupted {
        println!("? {PROMPT} {} revision(s) selected.", selected.len());
    }
    Ok(Selection::Chosen(selected))
}

/// The event loop; true when the user pressed Ctrl-C.
fn run_list(report: &Report, choices: &mut [Choice], lines: &[Row]) -> anyhow::Result<bool> {
    let mut current = 0_usize;
    let mut top = 0_usize;
    loop {
        let (columns, rows) = terminal::size().context("cannot read the terminal size")?;
        let height = usize::from(rows.max(3)) - 2;
        let current_line = lines
            .iter()
            .position(|row| matches!(row, Row::Choice(i) if *i == current))
            .unwrap_or(0);
        if current_line < top {
            // Show the repo title above the first revision when scrolling up.
            top = current_line.saturating_sub(2);
            if current == 0 {
                top = 0;
            }
        }
        if current_line >= top + height {
            top = current_line + 1 - height;
        }
        let checked: Vec<String> = choices
            .iter()
            .filter(|c| c.checked)
            .map(|c| c.value.clone())
            .collect();
        draw(
            columns,
            &format!("? {PROMPT} {}", expectation(report, &checked)),
            lines,
            choices,
            current,
            top,
            height,
        )?;
        let Event::Key(KeyEvent {
            code,
            modifiers,
            kind,
            ..
        }) = crossterm::event::read().context("cannot read the keyboard")?
        else {
            continue;
        };
        if kind == KeyEventKind::Release {
            continue;
        }
        match code {
            KeyCode::Char('c') if modifiers.contains(KeyModifiers::CONTROL) => return Ok(true),
            KeyCode::Up => current = current.saturating_sub(1),
            KeyCode::Down => current = (current + 1).min(choices.len() - 1),
            KeyCode::Char(' ') => choices[current].checked = !choices[current].checked,
            KeyCode::Enter => return Ok(false),
            _ => {}
        }
    }
}

fn fit(text: &str, columns: u16) -> String {
    text.chars().take(usize::from(columns)).collect()
}

fn draw(
    columns: u16,
    header: &str,
    lines: &[Row],
    choices: &[Choice],
    current: usize,
    top: usize,
    height: usize,
) -> anyhow::Result<()> {
    let mut out = stdout();
    queue!(
        out,
        cursor::MoveTo(0, 0),
        terminal::Clear(terminal::ClearType::All),
        style::Print(fit(header, columns))
    )?;
    for (offset, row) in lines.iter().skip(top).take(height).enumerate() {
        let text = match row {
            Row::Text(text) => format!("  {text}"),
            Row::Choice(index) => {
                let choice = &choices[*index];
                format!(
                    "{} {} {}",
                    if *index == current { "❯" } else { " " },
                    if choice.checked { "◉" } else { "○" },
                    choice.label
                )
            }
        };
        queue!(
            out,
            cursor::MoveTo(0, (offset + 1) as u16),
            style::Print(fit(&text, columns))
        )?;
    }
    queue!(
        out,
        cursor::MoveTo(0, (height + 1) as u16),
        style::Print(fit(HELP, columns))
    )?;
    out.flush().context("cannot draw on the terminal")?;
    Ok(())
}

/// InquirerPy's confirm: `? {message} (Y/n) `, one key (y, n, enter = default); Ctrl-C answers no.
pub fn confirm(message: &str, default: bool) -> anyhow::Result<bool> {
    let hint = if default { "(Y/n)" } else { "(y/N)" };
    print!("? {message} {hint} ");
    stdout().flush().context("cannot write to the terminal")?;
    terminal::enable_raw_mode().context("cannot switch the terminal to raw mode")?;
    let answer = loop {
        let event = crossterm::event::read();
        let Ok(Event::Key(KeyEvent {
            code,
            modifiers,
            kind,
            ..
        })) = event
        else {
            if event.is_err() {
                break None;
            }
            continue;
        };
        if kind == KeyEventKind::Release {
            continue;
        }
        match code {
            KeyCode::Char('c') if modifiers.contains(KeyModifiers::CONTROL) => break None,
            KeyCode::Char('y' | 'Y') => break Some(true),
            KeyCode::Char('n' | 'N') => break Some(false),
            KeyCode::Enter => break Some(default),
            _ => {}
        }
    };
    terminal::disable_raw_mode().context("cannot restore the terminal")?;
    match answer {
        Some(yes) => {
            println!("{}", if yes { "Yes" } else { "No" });
            Ok(yes)
        }
        None => {
            println!();
            Ok(false)
        }
    }
}
