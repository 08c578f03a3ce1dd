//! `pki`: the certificate steps of a tandem (or Redis) TLS setup, without OpenSSL.

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use pki::ca::{self, KeyType, Validity};
use pki::issue::{issue, IssueRequest};
use pki::profile::Profile;
use pki::store;
use pki::verify::{self, Purpose};

#[derive(Parser)]
#[command(
    name = "pki",
    version,
    about = "Certificates for tandem and Redis TLS, in place of OpenSSL"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a CA, the node certificate (redis.crt/redis.key, serverAuth+clientAuth) and a
    /// client certificate (client.crt/client.key) for redis-cli and applications.
    Init {
        /// Directory to write into.
        #[arg(long, default_value = "certs")]
        dir: PathBuf,
        /// Extra DNS name or IP address for the node certificate (repeatable); localhost,
        /// 127.0.0.1, ::1 and this host's name are always included.
        #[arg(long = "san", value_name = "DNS-OR-IP")]
        sans: Vec<String>,
        /// Validity of the node and client certificates, in days.
        #[arg(long, default_value_t = 365)]
        days: i64,
        /// Validity of the CA, in days (10 years by default).
        #[arg(long, default_value_t = 3650)]
        ca_days: i64,
        /// Key algorithm for every key written.
        #[arg(long, value_enum, default_value_t = KeyType::EcdsaP256)]
        key_type: KeyType,
        /// Overwrite files that already exist.
        #[arg(long)]
        force: bool,
    },
    /// Issue one more certificate from the CA (a second replica, another application).
    Issue {
        /// Common name of the certificate; also the file names NAME.crt and NAME.key.
        name: String,
        /// What the certificate is for.
        #[arg(long, value_enum)]
        profile: Profile,
        /// Extra DNS name or IP address (repeatable; node and server profiles also get
        /// localhost, 127.0.0.1, ::1 and this host's name).
        #[arg(long = "san", value_name = "DNS-OR-IP")]
        sans: Vec<String>,
        /// Validity in days.
        #[arg(long, default_value_t = 365)]
        days: i64,
        /// Start the validity this many days from now (negative = in the past). With
        /// --days it can make a certificate that is already expired, or not yet valid,
        /// for testing that peers reject it.
        #[arg(long, default_value_t = 0, allow_hyphen_values = true)]
        start_days: i64,
        /// Directory holding ca.crt and ca.key.
        #[arg(long, default_value = "certs")]
        ca_dir: PathBuf,
        /// Directory to write NAME.crt and NAME.key into (default: the CA directory).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Key algorithm.
        #[arg(long, value_enum, default_value_t = KeyType::EcdsaP256)]
        key_type: KeyType,
        /// Overwrite files that already exist.
        #[arg(long)]
        force: bool,
    },
    /// Describe certificates (subject, issuer, names, validity, usages, fingerprint) and
    /// keys (their type, never their secret).
    Inspect {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Validate a certificate (with any intermediates in the same file) against a CA.
    /// Exits 0 when valid; otherwise prints the reason and exits 1.
    Verify {
        /// The CA certificate (or a directory of CA certificates).
        #[arg(long)]
        ca: PathBuf,
        /// The certificate to check.
        cert: PathBuf,
        /// A host name or IP address the certificate must be valid for.
        #[arg(long)]
        name: Option<String>,
        /// The use to check the certificate for.
        #[arg(long, value_enum, default_value_t = Purpose::Server)]
        purpose: Purpose,
    },
    /// Read a password from standard input (without echo on a terminal) and print the
    /// argon2id hash that tandem's `requirepass-hash` takes.
    HashPassword,
}

fn main() -> ExitCode {
    match run(Cli::parse().command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("pki: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Init {
            dir,
            sans,
            days,
            ca_days,
            key_type,
            force,
        } => init(&dir, sans, days, ca_days, key_type, force),
        Command::Issue {
            name,
            profile,
            sans,
            days,
            start_days,
            ca_dir,
            out,
            key_type,
            force,
        } => {
            let out = out.unwrap_or_else(|| ca_dir.clone());
            let cert = out.join(format!("{name}.crt"));
            let key = out.join(format!("{name}.key"));
            store::refuse_overwrite(&[cert.clone(), key.clone()], force)?;
            let ca = ca::Ca::load(&ca_dir)?;
            let issued = issue(
                &ca,
                &IssueRequest {
                    name: name.clone(),
                    profile,
                    sans,
                    validity: Validity::relative(start_days, start_days + days),
                    key_type,
                },
            )?;
            issued.write(&cert, &key)?;
            println!(
                "wrote {} and {} ({profile:?} certificate)",
                cert.display(),
                key.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Inspect { files } => {
            let mut failed = false;
            for file in files {
                match pki::inspect::describe_file(&file) {
                    Ok(text) => print!("{text}"),
                    Err(e) => {
                        eprintln!("pki: {e}");
                        failed = true;
                    }
                }
            }
            Ok(if failed {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Verify {
            ca,
            cert,
            name,
            purpose,
        } => match verify::verify_files(&ca, &cert, name.as_deref(), purpose) {
            Ok(()) => {
                println!("{}: OK", cert.display());
                Ok(ExitCode::SUCCESS)
            }
            Err(reason) => {
                println!("{}: {reason}", cert.display());
                Ok(ExitCode::FAILURE)
            }
        },
        Command::HashPassword => {
            let password = if std::io::stdin().is_terminal() {
                rpassword::prompt_password("Password: ")?
            } else {
                let mut s = String::new();
                std::io::stdin().read_to_string(&mut s)?;
                s.trim_end_matches(['\r', '\n']).to_string()
            };
            if password.is_empty() {
                anyhow::bail!("empty password");
            }
            println!("{}", pki::password::hash(password.as_bytes())?);
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn init(
    dir: &Path,
    sans: Vec<String>,
    days: i64,
    ca_days: i64,
    key_type: KeyType,
    force: bool,
) -> anyhow::Result<ExitCode> {
    let files = [
        "ca.crt",
        "ca.key",
        "redis.crt",
        "redis.key",
        "client.crt",
        "client.key",
    ]
    .map(|f| dir.join(f));
    store::refuse_overwrite(&files, force)?;
    let ca = ca::create_in(dir, Validity::days(ca_days), key_type)?;
    for (name, profile, cert, key) in [
        ("redis", Profile::Node, &files[2], &files[3]),
        ("client", Profile::Client, &files[4], &files[5]),
    ] {
        let issued = issue(
            &ca,
            &IssueRequest {
                name: name.into(),
                profile,
                sans: if profile == Profile::Node {
                    sans.clone()
                } else {
                    Vec::new()
                },
                validity: Validity::days(days),
                key_type,
            },
        )?;
        issued.write(cert, key)?;
    }
    let abs = |p: &Path| {
        std::fs::canonicalize(p)
            .unwrap_or_else(|_| p.to_path_buf())
            .display()
            .to_string()
    };
    println!("wrote {} ({}):", dir.display(), key_type.name());
    println!("  ca.crt, ca.key          the CA (ca.key signs; keep it off the servers if you can)");
    println!("  redis.crt, redis.key    node certificate: serverAuth + clientAuth, for serving and replicating");
    println!("  client.crt, client.key  client certificate for redis-cli and applications");
    println!();
    println!("tandem (or redis-server) configuration:");
    println!("  port 0");
    println!("  tls-port 6379");
    println!("  tls-cert-file {}", abs(&files[2]));
    println!("  tls-key-file {}", abs(&files[3]));
    println!("  tls-ca-cert-file {}", abs(&files[0]));
    println!("  tls-auth-clients yes");
    println!("  tls-replication yes");
    println!();
    println!("redis-cli:");
    println!(
        "  redis-cli --tls --cert {} --key {} --cacert {} -p 6379 PING",
        abs(&files[4]),
        abs(&files[5]),
        abs(&files[0])
    );
    Ok(ExitCode::SUCCESS)
}
