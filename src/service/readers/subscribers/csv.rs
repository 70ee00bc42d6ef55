//! The little CSV the subscriber export and import speak (RFC 4180: comma separated, CRLF on
//! output, fields quoted when they hold a comma, quote, CR or LF, quotes doubled), with
//! spreadsheet formula injection neutralised.

/// Characters that make a spreadsheet treat a cell as a formula (OWASP: = + - @, tab, CR).
const FORMULA_START: &[char] = &['=', '+', '-', '@', '\t', '\r'];

/// A cell as written: a leading formula character gets a `'` before it, then RFC 4180 quoting.
pub fn cell(v: &str) -> String {
    let v = if v.starts_with(FORMULA_START) { format!("'{v}") } else { v.to_string() };
    if v.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v
    }
}

/// One record, CRLF-terminated.
pub fn record(cells: &[&str]) -> String {
    let mut out = cells.iter().map(|c| cell(c)).collect::<Vec<_>>().join(",");
    out.push_str("\r\n");
    out
}

/// Undoes [`cell`]'s neutralisation: `'=x` reads back as `=x`.
pub fn unneutralise(v: &str) -> &str {
    match v.strip_prefix('\'') {
        Some(rest) if rest.starts_with(FORMULA_START) => rest,
        _ => v,
    }
}

/// A record's fields and the (1-based) line it starts on.
pub type Record = (usize, Vec<String>);

/// Parses CSV text into records, each with the (1-based) line it starts on. Blank lines are
/// skipped. The error names the line.
pub fn parse(text: &str) -> Result<Vec<Record>, (usize, String)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    let mut line = 1;
    while chars.peek().is_some() {
        let start = line;
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut quoted_field = false;
        loop {
            match chars.next() {
                None => {
                    fields.push(std::mem::take(&mut field));
                    break;
                }
                Some('"') if field.is_empty() && !quoted_field => {
                    quoted_field = true;
                    loop {
                        match chars.next() {
                            None => return Err((start, "a quoted field is not closed".into())),
                            Some('"') if chars.peek() == Some(&'"') => {
                                chars.next();
                                field.push('"');
                            }
                            Some('"') => break,
                            Some(c) => {
                                if c == '\n' {
                                    line += 1;
                                }
                                field.push(c);
                            }
                        }
                    }
                    match chars.peek() {
                        None | Some(',') | Some('\r') | Some('\n') => {}
                        Some(_) => return Err((line, "text after a closing quote".into())),
                    }
                }
                Some(',') => {
                    fields.push(std::mem::take(&mut field));
                    quoted_field = false;
                }
                Some('\r') if chars.peek() == Some(&'\n') => {}
                Some('\n') | Some('\r') => {
                    line += 1;
                    fields.push(std::mem::take(&mut field));
                    break;
                }
                Some('"') => return Err((line, "a quote inside an unquoted field".into())),
                Some(c) => field.push(c),
            }
        }
        if !(fields.len() == 1 && fields[0].is_empty() && !quoted_field) {
            out.push((start, fields));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_quoted_and_formulas_neutralised() {
        assert_eq!(cell("plain"), "plain");
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(cell("+1"), "'+1");
        assert_eq!(cell("-1"), "'-1");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(unneutralise("'=1"), "=1");
        assert_eq!(unneutralise("'quoted"), "'quoted");
    }

    #[test]
    fn records_round_trip_and_errors_name_the_line() {
        let text = record(&["a", "b,c", "x\ny"]) + &record(&["", "=2", "z"]) + "\r\n";
        let rows = parse(&text).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0], (1, vec!["a".into(), "b,c".into(), "x\ny".into()]));
        assert_eq!(rows[1], (3, vec!["".into(), "'=2".into(), "z".into()]));
        assert_eq!(parse("a\nb\"c\n").unwrap_err().0, 2);
        assert_eq!(parse("a\n\"open\n").unwrap_err().0, 2);
    }
}
