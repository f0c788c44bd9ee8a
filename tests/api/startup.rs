//! Start-up that cannot lose the bootstrap secret or lie about storage: the port is bound
//! before the bootstrap user is made, and a SQLite URL without a file, in memory, or not
//! writable is refused at start with a clear message.

use provisioning::cli::Settings;
use provisioning::startup::Application;

fn sqlite_in_temp(name: &str) -> (std::path::PathBuf, String) {
    let dir = std::env::temp_dir().join(format!("provisioning-startup-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("test.db").display());
    (dir, url)
}

async fn refusal(settings: Settings) -> String {
    match Application::build(settings).await {
        Ok(_) => panic!("the start was refused"),
        Err(message) => message,
    }
}

#[actix_rt::test]
async fn a_taken_port_fails_before_the_bootstrap_user_is_made() {
    let (dir, url) = sqlite_in_temp("port");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut settings = Settings::local(&url);
    settings.bind = taken.local_addr().unwrap().to_string();
    assert!(refusal(settings).await.contains("binding"));
    // The next start, on a free port, is the first: it makes the bootstrap user and shows it.
    let application = Application::build(Settings::local(&url)).await.expect("a start on a free port");
    assert!(application.bootstrap_credentials().is_some(), "the failed start made no user");
    drop(application);
    let _ = std::fs::remove_dir_all(dir);
}

#[actix_rt::test]
async fn sqlite_without_a_file_or_in_memory_is_refused() {
    for url in ["sqlite://", "sqlite:", "sqlite://:memory:", "sqlite://file:shared?mode=memory&cache=shared"] {
        let message = refusal(Settings::local(url)).await;
        assert!(message.contains("names no file"), "{url}: {message}");
    }
}

#[actix_rt::test]
async fn a_database_that_cannot_be_written_is_refused() {
    // /proc takes no new files, and its files take no writes, even for root.
    for url in ["sqlite:///proc/provisioning.db", "sqlite:///proc/version"] {
        let message = refusal(Settings::local(url)).await;
        assert!(message.contains("not writable"), "{url}: {message}");
    }
}
