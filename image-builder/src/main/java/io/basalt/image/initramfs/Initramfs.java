package io.basalt.image.initramfs;

import io.basalt.image.tree.FileTree;
import java.util.List;

/**
 * A built initramfs: its tree (to be written as newc cpio) and what went into it. Immutable and
 * thread-safe.
 */
public final class Initramfs {
  private final FileTree tree;
  private final String kernelRelease;
  private final List<String> modules;
  private final List<String> binaries;
  private final String kernelImagePath;

  Initramfs(
      FileTree tree,
      String kernelRelease,
      List<String> modules,
      List<String> binaries,
      String kernelImagePath) {
    this.tree = tree;
    this.kernelRelease = kernelRelease;
    this.modules = List.copyOf(modules);
    this.binaries = List.copyOf(binaries);
    this.kernelImagePath = kernelImagePath;
  }

  /** The initramfs file tree, "/init" included. */
  public FileTree tree() {
    return tree;
  }

  /** The kernel release whose modules were taken (e.g. 6.1.0-50-amd64). */
  public String kernelRelease() {
    return kernelRelease;
  }

  /** Names of the modules /init loads, in load order (dependencies first). */
  public List<String> modules() {
    return modules;
  }

  /** In-image paths of the binaries copied (their libraries not listed). */
  public List<String> binaries() {
    return binaries;
  }

  /** In-image path of that release's kernel ({@code /boot/vmlinuz-RELEASE}), or null if absent. */
  public String kernelImagePath() {
    return kernelImagePath;
  }
}
