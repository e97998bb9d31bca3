//! [`ResponseFuture`]: the response future of the layer's and the guards' services.

use std::convert::Infallible;
use std::fmt;
use std::future::{Future, Ready};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use ::axum::response::{IntoResponse, Response};

type BoxedResponse<E> = Pin<Box<dyn Future<Output = Result<Response, E>> + Send>>;

pin_project_lite::pin_project! {
    /// The response future of [`AuthService`](super::AuthService) (`F` is the wrapped
    /// service's future) and [`GuardService`](super::GuardService).
    pub struct ResponseFuture<E = Infallible, F = Ready<Result<Response, E>>> {
        #[pin]
        state: State<F, E>,
    }
}

pin_project_lite::pin_project! {
    #[project = StateProjection]
    enum State<F, E> {
        // The wrapped service's own future, when the request was answered without awaiting
        // anything (a verified-token cache hit): no allocation.
        Inner { #[pin] future: F },
        // Verification still to run, then the wrapped service.
        Boxed { future: BoxedResponse<E> },
    }
}

impl<E, F> ResponseFuture<E, F> {
    pub(crate) fn new(future: impl Future<Output = Result<Response, E>> + Send + 'static) -> Self {
        ResponseFuture {
            state: State::Boxed {
                future: Box::pin(future),
            },
        }
    }

    pub(crate) fn inner(future: F) -> Self {
        ResponseFuture {
            state: State::Inner { future },
        }
    }
}

impl<E, F, R> Future for ResponseFuture<E, F>
where
    F: Future<Output = Result<R, E>>,
    R: IntoResponse,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProjection::Inner { future } => {
                Poll::Ready(ready!(future.poll(cx)).map(IntoResponse::into_response))
            }
            StateProjection::Boxed { future } => future.as_mut().poll(cx),
        }
    }
}

impl<E, F> fmt::Debug for ResponseFuture<E, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}
