//! eportal application
