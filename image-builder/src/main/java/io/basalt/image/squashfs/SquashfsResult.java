package io.basalt.image.squashfs;

/**
 * Figures about a written squashfs image. Immutable, thread-safe.
 *
 * @param imageSize bytes written, padding to 4 KiB included
 * @param bytesUsed the superblock's bytes_used (the image without padding)
 * @param inodes number of inodes
 * @param dataBlocks data blocks stored (sparse blocks and duplicates not counted)
 * @param fragments fragment blocks
 * @param duplicateFiles regular files stored as references to an identical earlier file
 * @param sparseBlocks all-zero blocks stored as holes
 * @param rootInode the root inode reference
 * @param paddingBytes zeros in the data area that align files' blocks and fragment blocks to 4 KiB
 */
record SquashfsResult(
    long imageSize,
    long bytesUsed,
    int inodes,
    long dataBlocks,
    int fragments,
    int duplicateFiles,
    long sparseBlocks,
    long rootInode,
    long paddingBytes) {}
