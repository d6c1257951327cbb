//! Builds the product-page example into this test and runs it against the real server.
mod common;

#[allow(dead_code)]
#[path = "../examples/product_page.rs"]
mod product_page;

#[test]
fn the_product_page_snippets_run_as_written() {
    // Fail with the runner's message rather than the example's when the env is missing.
    common::url();
    common::admin_key();
    product_page::run().expect("product page example");
}
