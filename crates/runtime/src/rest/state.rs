//! What every handler of the REST API receives: the herder behind it.

use std::sync::Arc;

use crate::herder::Herder;

/// The state of the REST router: the standalone or clustered herder.
pub(crate) type AppState = Arc<dyn Herder>;
