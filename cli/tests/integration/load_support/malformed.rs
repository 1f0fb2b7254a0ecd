//! The simulator's opt-in malformed rows (the test aid for the loader's quarantine), one
//! constructor per kind of defect.

use simulator::{MalformSpec, Malformation};

/// `count` rows of `object` whose `field` holds text where CVDW sends a number.
pub fn text_in(object: &str, count: u32, field: &str) -> MalformSpec {
    MalformSpec {
        object: object.into(),
        count,
        malformation: Malformation::TextIn {
            field: field.into(),
        },
    }
}

/// `count` rows of `object` without their natural-key fields.
pub fn no_key(object: &str, count: u32) -> MalformSpec {
    MalformSpec {
        object: object.into(),
        count,
        malformation: Malformation::NoKey,
    }
}
