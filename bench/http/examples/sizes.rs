use axum::extract::FromRequestParts;
use jwks_auth::AuthUser;
fn main() {
    let (mut parts, _) = axum::http::Request::get("/me").body(()).unwrap().into_parts();
    let fut = <AuthUser as FromRequestParts<()>>::from_request_parts(&mut parts, &());
    eprintln!("AuthUser extractor future: {} bytes", std::mem::size_of_val(&fut));
    eprintln!("AuthUser: {} bytes", std::mem::size_of::<AuthUser>());
    eprintln!("Request<Body>: {} bytes", std::mem::size_of::<axum::http::Request<axum::body::Body>>());
}
