//! Serve a Hugging Face cache directory as a Hub endpoint. Filled by the hub-server issue.
