//! Small text helpers shared by error messages across the crates.

/// Names for an error message: `a, b`, or `none` when there are none.
///
/// ```
/// use chronicle_core::text::list_or_none;
///
/// assert_eq!(list_or_none(&["greet".to_string(), "charge".to_string()]), "greet, charge");
/// assert_eq!(list_or_none(&[]), "none");
/// ```
pub fn list_or_none(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    }
}
