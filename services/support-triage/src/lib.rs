//! support-triage: classifies support tickets and platform incidents.
