package io.basalt.image.tree;

/** The kind of a file-system entry in an image tree. Immutable, thread-safe. */
public enum EntryType {
  DIRECTORY,
  REGULAR,
  SYMLINK,
  /** A second name for a regular file elsewhere in the tree (the target keeps the content). */
  HARDLINK,
  BLOCK_DEVICE,
  CHAR_DEVICE,
  FIFO,
  SOCKET
}
