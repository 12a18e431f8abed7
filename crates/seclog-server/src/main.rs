//! The `seclog` binary.

fn main() {
    println!("seclog");
}
