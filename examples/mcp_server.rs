fn main() {
    let _ = std::any::type_name::<rmcp::model::ServerCapabilities>();
}
