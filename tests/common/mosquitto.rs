//! A real mosquitto for the integration tests: its own config in a
//! temporary directory, listening on a free port on 127.0.0.1.

use std::fs;
use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

extern "C" {
    // From the C library std already links: signals for a graceful stop
    // (SIGTERM makes mosquitto save its persistence file) and a freeze.
    fn kill(pid: i32, sig: i32) -> i32;
}

const SIGKILL: i32 = 9;
const SIGTERM: i32 = 15;
const SIGCONT: i32 = 18;
const SIGSTOP: i32 = 19;

/// How a [`Mosquitto`] is configured.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Persistence on: the database lives in the temporary directory and is
    /// saved every second and on a graceful stop.
    pub persistence: bool,
    /// Users for a password file (made with mosquitto_passwd); when not
    /// empty, anonymous clients are refused.
    pub users: Vec<(String, String)>,
    /// More config lines.
    pub extra: Vec<String>,
}

impl Options {
    /// Persistence on.
    pub fn persistent() -> Self {
        Options {
            persistence: true,
            ..Options::default()
        }
    }
}

/// A running mosquitto, killed and cleaned up on drop.
pub struct Mosquitto {
    child: Option<Child>,
    dir: PathBuf,
    port: u16,
}

fn mosquitto_bin() -> PathBuf {
    let found = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join("mosquitto"))
        .find(|p| p.is_file());
    match found {
        Some(p) => p,
        None if Path::new("/usr/sbin/mosquitto").is_file() => PathBuf::from("/usr/sbin/mosquitto"),
        None => panic!("mosquitto not found in PATH nor /usr/sbin: apt-get install mosquitto (or run tests/run rust)"),
    }
}

fn temp_dir() -> PathBuf {
    static COUNT: AtomicU32 = AtomicU32::new(0);
    let n = COUNT.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!("mqttas-mosq-{}-{n}-{nanos}", std::process::id()));
    fs::create_dir_all(&dir).expect("create the broker's temporary directory");
    dir
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local address").port()
}

impl Mosquitto {
    /// Write the config, start mosquitto, wait until it accepts connections.
    pub fn start(opts: Options) -> Mosquitto {
        let dir = temp_dir();
        let port = free_port();
        let mut conf = format!(
            "listener {port} 127.0.0.1\n\
             log_dest file {log}\n\
             log_type all\n\
             # As root mosquitto would switch to user mosquitto, who cannot write\n\
             # here; ignored when not root.\n\
             user root\n",
            log = dir.join("mosquitto.log").display()
        );
        if opts.users.is_empty() {
            conf.push_str("allow_anonymous true\n");
        } else {
            let file = dir.join("passwd");
            for (i, (user, pass)) in opts.users.iter().enumerate() {
                let mut cmd = Command::new("mosquitto_passwd");
                cmd.arg("-b");
                if i == 0 {
                    cmd.arg("-c");
                }
                let status = cmd
                    .arg(&file)
                    .arg(user)
                    .arg(pass)
                    .stdout(Stdio::null())
                    .status()
                    .expect("run mosquitto_passwd (apt-get install mosquitto)");
                assert!(status.success(), "mosquitto_passwd failed for {user}");
            }
            conf.push_str(&format!(
                "allow_anonymous false\npassword_file {}\n",
                file.display()
            ));
        }
        if opts.persistence {
            conf.push_str(&format!(
                "persistence true\npersistence_location {}/\nautosave_interval 1\n",
                dir.display()
            ));
        }
        for line in &opts.extra {
            conf.push_str(line);
            conf.push('\n');
        }
        fs::write(dir.join("mosquitto.conf"), conf).expect("write mosquitto.conf");
        let mut m = Mosquitto {
            child: None,
            dir,
            port,
        };
        m.spawn();
        m
    }

    fn spawn(&mut self) {
        let out = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("mosquitto.out"))
            .expect("open mosquitto.out");
        let err = out.try_clone().expect("clone file handle");
        let child = Command::new(mosquitto_bin())
            .arg("-c")
            .arg(self.dir.join("mosquitto.conf"))
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("spawn mosquitto");
        self.child = Some(child);
        let start = Instant::now();
        loop {
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(|c| c.try_wait()) {
                panic!("mosquitto exited at start ({status}):\n{}", self.log());
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "mosquitto not listening on {} after 10 s:\n{}",
                self.port,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The port it listens on (on 127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// "127.0.0.1:PORT".
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Its log so far (log_type all: every packet it receives and sends).
    pub fn log(&self) -> String {
        let mut s = String::new();
        for f in ["mosquitto.out", "mosquitto.log"] {
            if let Ok(mut file) = fs::File::open(self.dir.join(f)) {
                let _ = file.read_to_string(&mut s);
            }
        }
        s
    }

    fn signal(&self, sig: i32) {
        if let Some(child) = &self.child {
            // SAFETY: kill(2) on the pid of our own child, which has not
            // been reaped yet (we hold its Child), so the pid is still ours.
            let r = unsafe { kill(child.id() as i32, sig) };
            assert_eq!(r, 0, "kill({}, {sig}) failed", child.id());
        }
    }

    /// Graceful stop (SIGTERM): mosquitto saves its persistence file and
    /// closes every connection.
    pub fn stop(&mut self) {
        self.signal(SIGTERM);
        if let Some(mut child) = self.child.take() {
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(10) {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
            panic!("mosquitto did not stop within 10 s of SIGTERM");
        }
    }

    /// Kill it (SIGKILL): no goodbye, nothing saved since the last autosave.
    pub fn kill(&mut self) {
        self.signal(SIGKILL);
        if let Some(mut child) = self.child.take() {
            let _ = child.wait();
        }
    }

    /// Freeze it (SIGSTOP): connections stay open, nothing is answered.
    pub fn freeze(&self) {
        self.signal(SIGSTOP);
    }

    /// Let a frozen broker run again (SIGCONT).
    pub fn thaw(&self) {
        self.signal(SIGCONT);
    }

    /// Start it again on the same port with the same config and
    /// persistence (stopping it gracefully first if it runs).
    pub fn restart(&mut self) {
        if self.child.is_some() {
            self.stop();
        }
        self.spawn();
    }

    /// True while the process runs.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.as_mut().map(|c| c.try_wait()), Some(Ok(None)))
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // A frozen broker ignores nothing but SIGKILL; kill() sends it.
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            // Keep the evidence of a failed test.
            eprintln!("mosquitto log kept in {}", self.dir.display());
        } else {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}
