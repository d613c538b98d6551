package io.basalt.update.testing;

import java.io.IOException;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.AccessMode;
import java.nio.file.CopyOption;
import java.nio.file.DirectoryStream;
import java.nio.file.FileStore;
import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.nio.file.StandardOpenOption;
import java.nio.file.WatchService;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.FileAttributeView;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.nio.file.spi.FileSystemProvider;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A file system over another (jimfs in the tests) that remembers which files were written since
 * their last {@code FileChannel.force}, and {@link #cut() loses} what such files hold, as a power
 * cut does with data still in the page cache: ext4's delayed allocation leaves a file created and
 * renamed, but never synced, empty after the journal replays. Only file content is modelled (a
 * rename or a new folder entry survives). Paths come from {@link #path}; thread-safe as far as the
 * file system under it is.
 */
public final class PowerCutFileSystem {
  private final FileSystem under;
  private final Provider provider = new Provider();
  private final Fs fs = new Fs();

  /** Files (paths of the file system under it) written and not forced since. */
  private final Set<Path> unsynced = ConcurrentHashMap.newKeySet();

  public PowerCutFileSystem(FileSystem under) {
    this.under = under;
  }

  /** A path of this file system. */
  public Path path(String first, String... more) {
    return wrap(under.getPath(first, more));
  }

  /**
   * The power cut: every file written since its last force loses its content.
   *
   * @return how many files lost their content
   */
  public int cut() throws IOException {
    int n = 0;
    for (Path p : Set.copyOf(unsynced)) {
      if (Files.isRegularFile(p)) {
        Files.write(p, new byte[0]);
        n++;
      }
    }
    unsynced.clear();
    return n;
  }

  private static Path key(Path underPath) {
    return underPath.toAbsolutePath().normalize();
  }

  private Path wrap(Path p) {
    if (p == null || Proxy.isProxyClass(p.getClass())) {
      return p;
    }
    return (Path)
        Proxy.newProxyInstance(
            Path.class.getClassLoader(), new Class<?>[] {Path.class}, new Wrapped(p));
  }

  private static Path unwrap(Object p) {
    if (p instanceof Path path && Proxy.isProxyClass(p.getClass())) {
      InvocationHandler h = Proxy.getInvocationHandler(path);
      if (h instanceof Wrapped w) {
        return w.under;
      }
    }
    return (Path) p;
  }

  /** A path of this file system: the path under it, with results wrapped again. */
  private final class Wrapped implements InvocationHandler {
    final Path under;

    Wrapped(Path under) {
      this.under = under;
    }

    @Override
    public Object invoke(Object proxy, java.lang.reflect.Method m, Object[] args) throws Throwable {
      switch (m.getName()) {
        case "getFileSystem":
          return fs;
        case "equals":
          return args[0] instanceof Path o && under.equals(unwrap(o));
        case "hashCode":
          return under.hashCode();
        case "toString":
          return under.toString();
        case "iterator":
          {
            Iterator<Path> it = under.iterator();
            return new Iterator<Path>() {
              @Override
              public boolean hasNext() {
                return it.hasNext();
              }

              @Override
              public Path next() {
                return wrap(it.next());
              }
            };
          }
        default:
          break;
      }
      Object[] a = args == null ? null : args.clone();
      if (a != null) {
        for (int i = 0; i < a.length; i++) {
          if (a[i] instanceof Path p) {
            a[i] = unwrap(p);
          }
        }
      }
      Object r;
      try {
        r = m.invoke(under, a);
      } catch (InvocationTargetException e) {
        throw e.getCause();
      }
      return r instanceof Path p ? wrap(p) : r;
    }
  }

  /** The file system of the wrapped paths: everything answered by the one under it. */
  private final class Fs extends FileSystem {
    @Override
    public FileSystemProvider provider() {
      return provider;
    }

    @Override
    public void close() throws IOException {
      under.close();
    }

    @Override
    public boolean isOpen() {
      return under.isOpen();
    }

    @Override
    public boolean isReadOnly() {
      return under.isReadOnly();
    }

    @Override
    public String getSeparator() {
      return under.getSeparator();
    }

    @Override
    public Iterable<Path> getRootDirectories() {
      return () -> {
        Iterator<Path> it = under.getRootDirectories().iterator();
        return new Iterator<Path>() {
          @Override
          public boolean hasNext() {
            return it.hasNext();
          }

          @Override
          public Path next() {
            return wrap(it.next());
          }
        };
      };
    }

    @Override
    public Iterable<FileStore> getFileStores() {
      return under.getFileStores();
    }

    @Override
    public Set<String> supportedFileAttributeViews() {
      return under.supportedFileAttributeViews();
    }

    @Override
    public Path getPath(String first, String... more) {
      return wrap(under.getPath(first, more));
    }

    @Override
    public PathMatcher getPathMatcher(String syntaxAndPattern) {
      PathMatcher m = under.getPathMatcher(syntaxAndPattern);
      return p -> m.matches(unwrap(p));
    }

    @Override
    public UserPrincipalLookupService getUserPrincipalLookupService() {
      return under.getUserPrincipalLookupService();
    }

    @Override
    public WatchService newWatchService() throws IOException {
      return under.newWatchService();
    }
  }

  /** Forwards to the provider under it, recording writes and forces. */
  private final class Provider extends FileSystemProvider {
    private FileSystemProvider p() {
      return under.provider();
    }

    @Override
    public String getScheme() {
      return "powercut";
    }

    @Override
    public FileSystem newFileSystem(URI uri, Map<String, ?> env) {
      throw new UnsupportedOperationException();
    }

    @Override
    public FileSystem getFileSystem(URI uri) {
      return fs;
    }

    @Override
    public Path getPath(URI uri) {
      throw new UnsupportedOperationException();
    }

    private boolean writes(Set<? extends OpenOption> options) {
      return options.contains(StandardOpenOption.WRITE)
          || options.contains(StandardOpenOption.APPEND);
    }

    @Override
    public SeekableByteChannel newByteChannel(
        Path path, Set<? extends OpenOption> options, FileAttribute<?>... attrs)
        throws IOException {
      return newFileChannel(path, options, attrs);
    }

    @Override
    public FileChannel newFileChannel(
        Path path, Set<? extends OpenOption> options, FileAttribute<?>... attrs)
        throws IOException {
      Path u = unwrap(path);
      FileChannel ch = p().newFileChannel(u, options, attrs);
      if (writes(options)) {
        unsynced.add(key(u));
      }
      return new Tracked(ch, key(u), writes(options));
    }

    @Override
    public DirectoryStream<Path> newDirectoryStream(
        Path dir, DirectoryStream.Filter<? super Path> filter) throws IOException {
      DirectoryStream<Path> s = p().newDirectoryStream(unwrap(dir), e -> filter.accept(wrap(e)));
      return new DirectoryStream<>() {
        @Override
        public Iterator<Path> iterator() {
          Iterator<Path> it = s.iterator();
          return new Iterator<Path>() {
            @Override
            public boolean hasNext() {
              return it.hasNext();
            }

            @Override
            public Path next() {
              return wrap(it.next());
            }
          };
        }

        @Override
        public void close() throws IOException {
          s.close();
        }
      };
    }

    @Override
    public void createDirectory(Path dir, FileAttribute<?>... attrs) throws IOException {
      p().createDirectory(unwrap(dir), attrs);
    }

    @Override
    public void delete(Path path) throws IOException {
      p().delete(unwrap(path));
      unsynced.remove(key(unwrap(path)));
    }

    @Override
    public void copy(Path source, Path target, CopyOption... options) throws IOException {
      p().copy(unwrap(source), unwrap(target), options);
      unsynced.add(key(unwrap(target)));
    }

    @Override
    public void move(Path source, Path target, CopyOption... options) throws IOException {
      p().move(unwrap(source), unwrap(target), options);
      // the data goes with the folder entry, synced or not
      boolean was = unsynced.remove(key(unwrap(source)));
      if (was) {
        unsynced.add(key(unwrap(target)));
      } else {
        unsynced.remove(key(unwrap(target)));
      }
    }

    @Override
    public boolean isSameFile(Path path, Path path2) throws IOException {
      return p().isSameFile(unwrap(path), unwrap(path2));
    }

    @Override
    public boolean isHidden(Path path) throws IOException {
      return p().isHidden(unwrap(path));
    }

    @Override
    public FileStore getFileStore(Path path) throws IOException {
      return p().getFileStore(unwrap(path));
    }

    @Override
    public void checkAccess(Path path, AccessMode... modes) throws IOException {
      p().checkAccess(unwrap(path), modes);
    }

    @Override
    public <V extends FileAttributeView> V getFileAttributeView(
        Path path, Class<V> type, LinkOption... options) {
      return p().getFileAttributeView(unwrap(path), type, options);
    }

    @Override
    public <A extends BasicFileAttributes> A readAttributes(
        Path path, Class<A> type, LinkOption... options) throws IOException {
      return p().readAttributes(unwrap(path), type, options);
    }

    @Override
    public Map<String, Object> readAttributes(Path path, String attributes, LinkOption... options)
        throws IOException {
      return p().readAttributes(unwrap(path), attributes, options);
    }

    @Override
    public void setAttribute(Path path, String attribute, Object value, LinkOption... options)
        throws IOException {
      p().setAttribute(unwrap(path), attribute, value, options);
    }
  }

  /** A channel whose writes mark its file unsynced and whose force marks it synced. */
  private final class Tracked extends FileChannel {
    private final FileChannel ch;
    private final Path file;
    private final boolean writable;

    Tracked(FileChannel ch, Path file, boolean writable) {
      this.ch = ch;
      this.file = file;
      this.writable = writable;
    }

    private void wrote() {
      if (writable) {
        unsynced.add(file);
      }
    }

    @Override
    public int read(ByteBuffer dst) throws IOException {
      return ch.read(dst);
    }

    @Override
    public long read(ByteBuffer[] dsts, int offset, int length) throws IOException {
      return ch.read(dsts, offset, length);
    }

    @Override
    public int write(ByteBuffer src) throws IOException {
      wrote();
      return ch.write(src);
    }

    @Override
    public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
      wrote();
      return ch.write(srcs, offset, length);
    }

    @Override
    public long position() throws IOException {
      return ch.position();
    }

    @Override
    public FileChannel position(long newPosition) throws IOException {
      ch.position(newPosition);
      return this;
    }

    @Override
    public long size() throws IOException {
      return ch.size();
    }

    @Override
    public FileChannel truncate(long size) throws IOException {
      wrote();
      ch.truncate(size);
      return this;
    }

    @Override
    public void force(boolean metaData) throws IOException {
      ch.force(metaData);
      unsynced.remove(file);
    }

    @Override
    public long transferTo(long position, long count, WritableByteChannel target)
        throws IOException {
      return ch.transferTo(position, count, target);
    }

    @Override
    public long transferFrom(ReadableByteChannel src, long position, long count)
        throws IOException {
      wrote();
      return ch.transferFrom(src, position, count);
    }

    @Override
    public int read(ByteBuffer dst, long position) throws IOException {
      return ch.read(dst, position);
    }

    @Override
    public int write(ByteBuffer src, long position) throws IOException {
      wrote();
      return ch.write(src, position);
    }

    @Override
    public MappedByteBuffer map(MapMode mode, long position, long size) throws IOException {
      return ch.map(mode, position, size);
    }

    @Override
    public FileLock lock(long position, long size, boolean shared) throws IOException {
      return ch.lock(position, size, shared);
    }

    @Override
    public FileLock tryLock(long position, long size, boolean shared) throws IOException {
      return ch.tryLock(position, size, shared);
    }

    @Override
    protected void implCloseChannel() throws IOException {
      ch.close();
    }
  }
}
