//! (placeholder: owned by the team member building this module)
