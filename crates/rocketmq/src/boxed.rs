//! Type erasure for the client's futures.

use std::future::Future;
use std::pin::Pin;

/// A boxed, `Send` future.
pub(crate) type BoxFut<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Boxes a client future so that the futures of this crate do not embed its (very
/// deep) type.
pub(crate) fn boxed<'a, T>(fut: impl Future<Output = T> + Send + 'a) -> BoxFut<'a, T> {
    Box::pin(fut)
}
