//! The List Filter basics: `WorkflowId`, `WorkflowType`, `ExecutionStatus`, `TaskQueue`,
//! `RunId`, `StartTime`, `CloseTime` and custom Keyword/Int search attributes; `= != > >= < <=`,
//! `AND`, `OR`, parentheses, `IN (...)` and `STARTS_WITH` (<https://docs.temporal.io/list-filter>).

use crate::error::{Result, ServiceError};
use crate::state::MutableState;

/// A parsed filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// Everything (the empty query).
    All,
    /// Both.
    And(Box<Filter>, Box<Filter>),
    /// Either.
    Or(Box<Filter>, Box<Filter>),
    /// `field op value`.
    Compare(String, Op, String),
    /// `field IN (values)` (negated for `NOT IN`).
    In(String, Vec<String>, bool),
    /// `field STARTS_WITH prefix`.
    StartsWith(String, String),
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `<`
    Lt,
    /// `<=`
    Le,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Text(String),
    Symbol(String),
}

fn invalid(message: impl Into<String>) -> ServiceError {
    ServiceError::InvalidArgument(format!("invalid query: {}", message.into()))
}

fn tokenize(query: &str) -> Result<Vec<Token>> {
    let mut tokens = Vec::new();
    let chars: Vec<char> = query.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '\'' || c == '"' || c == '`' {
            let end = chars[i + 1..]
                .iter()
                .position(|&d| d == c)
                .ok_or_else(|| invalid("unterminated string"))?;
            tokens.push(Token::Text(chars[i + 1..i + 1 + end].iter().collect()));
            i += end + 2;
        } else if "()=,".contains(c) {
            tokens.push(Token::Symbol(c.to_string()));
            i += 1;
        } else if "!<>".contains(c) {
            let two = chars.get(i + 1) == Some(&'=');
            let symbol: String = if two { format!("{c}=") } else { c.to_string() };
            if symbol == "!" {
                return Err(invalid("'!' must be followed by '='"));
            }
            i += symbol.len();
            tokens.push(Token::Symbol(symbol));
        } else {
            let start = i;
            while i < chars.len() && !chars[i].is_whitespace() && !"()=,!<>'\"`".contains(chars[i])
            {
                i += 1;
            }
            tokens.push(Token::Word(chars[start..i].iter().collect()));
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek_word(&self, word: &str) -> bool {
        matches!(self.tokens.get(self.at), Some(Token::Word(w)) if w.eq_ignore_ascii_case(word))
    }

    fn peek_symbol(&self, symbol: &str) -> bool {
        matches!(self.tokens.get(self.at), Some(Token::Symbol(s)) if s == symbol)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.at).cloned();
        self.at += 1;
        token
    }

    fn or(&mut self) -> Result<Filter> {
        let mut left = self.and()?;
        while self.peek_word("OR") {
            self.at += 1;
            left = Filter::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Filter> {
        let mut left = self.unary()?;
        while self.peek_word("AND") {
            self.at += 1;
            left = Filter::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn value(&mut self) -> Result<String> {
        match self.next() {
            Some(Token::Text(text)) | Some(Token::Word(text)) => Ok(text),
            other => Err(invalid(format!("expected a value, found {other:?}"))),
        }
    }

    fn unary(&mut self) -> Result<Filter> {
        if self.peek_symbol("(") {
            self.at += 1;
            let inner = self.or()?;
            if !self.peek_symbol(")") {
                return Err(invalid("missing ')'"));
            }
            self.at += 1;
            return Ok(inner);
        }
        let field = match self.next() {
            Some(Token::Word(field)) | Some(Token::Text(field)) => field,
            other => return Err(invalid(format!("expected a field name, found {other:?}"))),
        };
        let negated = self.peek_word("NOT");
        if negated {
            self.at += 1;
        }
        if self.peek_word("IN") {
            self.at += 1;
            if !self.peek_symbol("(") {
                return Err(invalid("IN needs a parenthesised list"));
            }
            self.at += 1;
            let mut values = vec![self.value()?];
            while self.peek_symbol(",") {
                self.at += 1;
                values.push(self.value()?);
            }
            if !self.peek_symbol(")") {
                return Err(invalid("missing ')' after the IN list"));
            }
            self.at += 1;
            return Ok(Filter::In(field, values, negated));
        }
        if negated {
            return Err(invalid("NOT is only supported before IN"));
        }
        if self.peek_word("STARTS_WITH") {
            self.at += 1;
            return Ok(Filter::StartsWith(field, self.value()?));
        }
        let op = match self.next() {
            Some(Token::Symbol(s)) => match s.as_str() {
                "=" => Op::Eq,
                "!=" => Op::Ne,
                ">" => Op::Gt,
                ">=" => Op::Ge,
                "<" => Op::Lt,
                "<=" => Op::Le,
                _ => return Err(invalid(format!("unexpected {s:?}"))),
            },
            other => return Err(invalid(format!("expected an operator, found {other:?}"))),
        };
        Ok(Filter::Compare(field, op, self.value()?))
    }
}

impl Filter {
    /// Parses a List Filter query; the empty query matches everything.
    pub fn parse(query: &str) -> Result<Filter> {
        let mut query = query.trim();
        // Ordering is fixed (CloseTime DESC, StartTime DESC); ignore an ORDER BY asking for it.
        if let Some(position) = query.to_ascii_uppercase().find("ORDER BY") {
            query = query[..position].trim();
        }
        if query.is_empty() {
            return Ok(Filter::All);
        }
        let mut parser = Parser {
            tokens: tokenize(query)?,
            at: 0,
        };
        let filter = parser.or()?;
        if parser.at < parser.tokens.len() {
            return Err(invalid(format!(
                "unexpected {:?}",
                parser.tokens[parser.at]
            )));
        }
        Ok(filter)
    }

    /// Whether a run matches.
    pub fn matches(&self, state: &MutableState) -> bool {
        match self {
            Filter::All => true,
            Filter::And(a, b) => a.matches(state) && b.matches(state),
            Filter::Or(a, b) => a.matches(state) || b.matches(state),
            Filter::Compare(field, op, value) => compare(state, field, *op, value),
            Filter::In(field, values, negated) => {
                values.iter().any(|v| compare(state, field, Op::Eq, v)) != *negated
            }
            Filter::StartsWith(field, prefix) => {
                field_value(state, field).is_some_and(|v| match v {
                    Value::Text(text) => text.starts_with(prefix.as_str()),
                    _ => false,
                })
            }
        }
    }
}

enum Value {
    Text(String),
    Number(i64),
    Time(i64),
}

fn field_value(state: &MutableState, field: &str) -> Option<Value> {
    Some(match field {
        "WorkflowId" => Value::Text(state.key.workflow_id.clone()),
        "RunId" => Value::Text(state.key.run_id.clone()),
        "WorkflowType" => Value::Text(state.workflow_type.clone()),
        "TaskQueue" => Value::Text(state.task_queue.clone()),
        "ExecutionStatus" => Value::Text(status_name(state.status).to_string()),
        "StartTime" | "ExecutionTime" => Value::Time(state.start_time_ms),
        "CloseTime" => Value::Time(state.close_time_ms?),
        custom => {
            let payload = state
                .search_attributes
                .as_ref()?
                .indexed_fields
                .get(custom)?;
            let text = String::from_utf8_lossy(&payload.data).trim().to_string();
            match text.parse::<i64>() {
                Ok(number) => Value::Number(number),
                Err(_) => Value::Text(text.trim_matches('"').to_string()),
            }
        }
    })
}

fn status_name(status: crate::proto::enums::WorkflowExecutionStatus) -> &'static str {
    use crate::proto::enums::WorkflowExecutionStatus as S;
    match status {
        S::Running => "Running",
        S::Completed => "Completed",
        S::Failed => "Failed",
        S::Canceled => "Canceled",
        S::Terminated => "Terminated",
        S::ContinuedAsNew => "ContinuedAsNew",
        S::TimedOut => "TimedOut",
        S::Paused => "Paused",
        S::Unspecified => "Unspecified",
    }
}

fn compare(state: &MutableState, field: &str, op: Op, value: &str) -> bool {
    let Some(actual) = field_value(state, field) else {
        return false;
    };
    let ordering = match actual {
        Value::Text(text) => text.as_str().cmp(value),
        Value::Number(number) => match value.parse::<i64>() {
            Ok(expected) => number.cmp(&expected),
            Err(_) => return false,
        },
        Value::Time(ms) => match parse_rfc3339(value) {
            Some(expected) => ms.cmp(&expected),
            None => return false,
        },
    };
    use std::cmp::Ordering::*;
    match op {
        Op::Eq => ordering == Equal,
        Op::Ne => ordering != Equal,
        Op::Gt => ordering == Greater,
        Op::Ge => ordering != Less,
        Op::Lt => ordering == Less,
        Op::Le => ordering != Greater,
    }
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM)` into ms since the epoch.
fn parse_rfc3339(text: &str) -> Option<i64> {
    let number = |s: &str| s.parse::<i64>().ok();
    let (date, rest) = text.split_once(['T', ' '])?;
    let mut parts = date.split('-');
    let (year, month, day) = (
        number(parts.next()?)?,
        number(parts.next()?)?,
        number(parts.next()?)?,
    );
    let zone_at = rest.find(['Z', 'z', '+', '-']).unwrap_or(rest.len());
    let (clock, zone) = rest.split_at(zone_at);
    let (clock, fraction) = clock.split_once('.').unwrap_or((clock, ""));
    let mut hms = clock.split(':');
    let (h, m, s) = (
        number(hms.next()?)?,
        number(hms.next()?)?,
        number(hms.next().unwrap_or("0"))?,
    );
    let millis = if fraction.is_empty() {
        0
    } else {
        number(&format!("{:0<3}", &fraction[..fraction.len().min(3)]))?
    };
    let offset_min = match zone.chars().next() {
        None | Some('Z') | Some('z') => 0,
        Some(sign) => {
            let (oh, om) = zone[1..].split_once(':').unwrap_or((&zone[1..], "0"));
            let minutes = number(oh)? * 60 + number(om)?;
            if sign == '-' {
                -minutes
            } else {
                minutes
            }
        }
    };
    // Days from the civil date (proleptic Gregorian), then seconds.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let seconds = days * 86_400 + h * 3600 + m * 60 + s - offset_min * 60;
    Some(seconds * 1000 + millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_precedence_lists_and_prefixes() {
        let filter = Filter::parse(
            "WorkflowType = 'A' AND (ExecutionStatus = 'Running' OR WorkflowId STARTS_WITH \"x\") \
             OR TaskQueue IN ('q1', 'q2')",
        )
        .unwrap();
        assert!(matches!(filter, Filter::Or(_, _)));
        assert_eq!(Filter::parse("  ").unwrap(), Filter::All);
        assert!(Filter::parse("WorkflowId = ").is_err());
        assert!(Filter::parse("WorkflowId = 'a' AND").is_err());
        assert!(Filter::parse("(WorkflowId = 'a'").is_err());
    }

    #[test]
    fn rfc3339_times() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339("1970-01-02T00:00:01.5Z"), Some(86_401_500));
        assert_eq!(parse_rfc3339("1970-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(
            parse_rfc3339("2024-03-01T00:00:00Z"),
            Some(1_709_251_200_000)
        );
        assert_eq!(parse_rfc3339("yesterday"), None);
    }
}
