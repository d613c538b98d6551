/**
 * Basalt's host contracts as types: the boot loader entry, the kernel command-line keys, the update
 * payload and its signed fields, the paths on a running host, and {@link
 * io.basalt.host.AtomicFiles} for writing state. The shell side (initramfs {@code /init}, {@code
 * libexec/}) is held to the same keys and paths by a test. This package depends on nothing but the
 * JDK.
 */
package io.basalt.host;
