//! Messages as lines of JSON in a file, appended under one lock so lines never interleave.

use async_trait::async_trait;
use eportal_ports::{Notice, Notifier, PortError};
use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt;
use tokio::sync::Mutex;

pub struct FileNotifier {
    path: PathBuf,
    file: Mutex<tokio::fs::File>,
}

impl FileNotifier {
    /// Opens (or creates) the file for appending.
    pub async fn open(path: impl AsRef<Path>) -> std::io::Result<FileNotifier> {
        let path = path.as_ref().to_path_buf();
        let file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .await?;
        Ok(FileNotifier {
            path,
            file: Mutex::new(file),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[async_trait]
impl Notifier for FileNotifier {
    async fn send(&self, notice: &Notice) -> Result<(), PortError> {
        let mut line = serde_json::to_vec(notice).map_err(|e| PortError::Invalid(e.to_string()))?;
        line.push(b'\n');
        let mut f = self.file.lock().await;
        f.write_all(&line)
            .await
            .map_err(|e| PortError::unavailable("outbox file", e))?;
        f.flush()
            .await
            .map_err(|e| PortError::unavailable("outbox file", e))?;
        drop(f);
        tracing::info!(
            to = %notice.username,
            subject = %notice.subject,
            file = %self.path.display(),
            "message written to the outbox file"
        );
        Ok(())
    }

    fn channel(&self) -> &'static str {
        "file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn each_message_is_one_json_line_appended() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outbox.jsonl");
        let n = FileNotifier::open(&path).await.unwrap();
        for who in ["SCI/2021/0001", "SCI/2021/0002"] {
            n.send(&Notice {
                username: who.into(),
                address: None,
                subject: "Your results".into(),
                text: format!("hello {who}\nsecond line"),
            })
            .await
            .unwrap();
        }
        drop(n);
        // Reopened, it appends rather than starting again.
        let n = FileNotifier::open(&path).await.unwrap();
        n.send(&Notice {
            username: "SCI/2021/0003".into(),
            address: Some("x@example.edu".into()),
            subject: "s".into(),
            text: "t".into(),
        })
        .await
        .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<Notice> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert_eq!(lines[1].text, "hello SCI/2021/0002\nsecond line");
        assert_eq!(lines[2].address.as_deref(), Some("x@example.edu"));
    }
}
