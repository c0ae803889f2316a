//! addon-manager.
