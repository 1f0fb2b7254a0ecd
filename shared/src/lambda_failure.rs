//! The error a Lambda handler returns. Its class is the error type Lambda records
//! (`Retryable` or `Permanent`), so alarms, async retries and an on-failure destination can
//! tell a failure a redelivery may get past from one only someone fixing something will help.
//! The extract and load functions return it; the class comes from the domain error's own
//! `is_retryable`.

use lambda_runtime::Diagnostic;

/// Why an invocation failed, and whether trying again may help.
#[derive(Debug)]
pub struct Failure {
    pub retryable: bool,
    pub message: String,
}

impl Failure {
    pub fn retryable(message: impl Into<String>) -> Failure {
        Failure {
            retryable: true,
            message: message.into(),
        }
    }

    pub fn permanent(message: impl Into<String>) -> Failure {
        Failure {
            retryable: false,
            message: message.into(),
        }
    }

    /// The error type Lambda records.
    pub fn class(&self) -> &'static str {
        if self.retryable {
            "Retryable"
        } else {
            "Permanent"
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<Failure> for Diagnostic {
    fn from(failure: Failure) -> Diagnostic {
        Diagnostic {
            error_type: failure.class().into(),
            error_message: failure.message,
        }
    }
}

impl From<crate::db::DbError> for Failure {
    fn from(e: crate::db::DbError) -> Failure {
        Failure {
            retryable: e.is_retryable(),
            message: e.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_class_is_the_error_type_lambda_records() {
        let retryable = Diagnostic::from(Failure::retryable("connection reset"));
        assert_eq!(retryable.error_type, "Retryable");
        assert_eq!(retryable.error_message, "connection reset");
        let permanent = Diagnostic::from(Failure::permanent("not an extract event"));
        assert_eq!(permanent.error_type, "Permanent");
    }
}
