//! Configuration in layers: built-in defaults, then an optional TOML file (`renkei.toml` or the
//! file named by `RENKEI_CONFIG`), then `RENKEI_*` environment variables (and the conventional
//! `DATABASE_URL`). Unsafe settings are refused at start in production.

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `sqlite://renkei.db` (default, embedded) or `postgres://user:pass@host/db`.
    pub database_url: String,
    /// Address to listen on; port 0 picks a free port (tests).
    pub listen: String,
    /// URL under which users reach the service (links in mail, cookie security).
    pub public_url: String,
    /// `development` or `production`.
    pub environment: String,
    /// Session lifetime in hours.
    pub session_hours: i64,
    /// `text` (human) or `json` (structured) logs.
    pub log_format: String,
    /// Run the background job worker in this instance.
    pub run_worker: bool,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            database_url: "sqlite://renkei.db".into(),
            listen: "127.0.0.1:8080".into(),
            public_url: "http://localhost:8080".into(),
            environment: "development".into(),
            session_hours: 12,
            log_format: "text".into(),
            run_worker: true,
        }
    }
}

/// Keys settable as `RENKEI_<KEY>` environment variables.
const CONFIG_KEYS: [&str; 7] = [
    "database_url",
    "listen",
    "public_url",
    "environment",
    "session_hours",
    "log_format",
    "run_worker",
];

impl Config {
    pub fn load() -> anyhow::Result<Config> {
        let file = std::env::var("RENKEI_CONFIG").unwrap_or_else(|_| "renkei.toml".into());
        let mut figment =
            Figment::from(Serialized::defaults(Config::default())).merge(Toml::file(&file));
        if let Ok(url) = std::env::var("DATABASE_URL") {
            figment = figment.merge(("database_url", url));
        }
        let config: Config = figment
            // Only the settings' own names: other RENKEI_* variables (RENKEI_LOG,
            // RENKEI_NEW_PASSWORD, test settings) belong to other parts.
            .merge(Env::prefixed("RENKEI_").only(&CONFIG_KEYS))
            .extract()
            .map_err(|e| anyhow::anyhow!("configuration error / 設定エラー: {e}"))?;
        config.check()?;
        Ok(config)
    }

    /// Cookies get the `Secure` flag whenever users reach us over HTTPS.
    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }

    pub fn is_production(&self) -> bool {
        self.environment == "production"
    }

    /// Refuses settings that would be unsafe or meaningless.
    pub fn check(&self) -> anyhow::Result<()> {
        if !matches!(self.environment.as_str(), "development" | "production") {
            anyhow::bail!("environment must be development or production (got {:?}) / environment は development か production にしてください", self.environment);
        }
        if !matches!(self.log_format.as_str(), "text" | "json") {
            anyhow::bail!(
                "log_format must be text or json / log_format は text か json にしてください"
            );
        }
        if !(1..=24 * 30).contains(&self.session_hours) {
            anyhow::bail!("session_hours must be 1-720 / session_hours は1〜720にしてください");
        }
        url::Url::parse(&self.public_url).map_err(|e| {
            anyhow::anyhow!(
                "public_url {:?} is not a URL: {e} / public_url がURLではありません",
                self.public_url
            )
        })?;
        if self.is_production() && !self.secure_cookies() {
            anyhow::bail!(
                "in production public_url must be https:// (session cookies would travel in clear text) / 本番環境では public_url を https:// にしてください"
            );
        }
        Ok(())
    }
}
