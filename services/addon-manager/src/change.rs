//! What an addon-manager handler decides: the writes and the add-on events of one atomic change
//! (see [`accord_runtime::change`]).

use accord_core::addon::AddonEvent;

/// Writes and add-on events of one atomic change.
pub type Change = accord_runtime::change::Change<AddonEvent>;
