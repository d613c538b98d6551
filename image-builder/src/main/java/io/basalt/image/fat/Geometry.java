package io.basalt.image.fat;

/**
 * The layout of a FAT volume of a given size: FAT type, cluster size and region sizes, chosen as in
 * the Microsoft FAT specification (section 3.5 and "FAT type determination": the type follows from
 * the cluster count alone, FAT12 &lt; 4085 &le; FAT16 &lt; 65525 &le; FAT32). Immutable,
 * thread-safe.
 */
record Geometry(
    FatType type,
    long totalSectors,
    int sectorsPerCluster,
    int reservedSectors,
    long fatSectors,
    int rootEntries,
    long clusterCount) {

  static final int SECTOR = 512;
  static final int NUM_FATS = 2;
  static final long MIN_FAT16 = 4085;
  static final long MIN_FAT32 = 65525;

  /** Cluster counts this close to a type boundary are avoided (drivers that count differently). */
  static final long MARGIN = 16;

  static final long MAX_FAT32 = 0x0FFFFFF5L - 2;

  /** The FAT type of a volume. */
  enum FatType {
    FAT16(2, "FAT16   "),
    FAT32(4, "FAT32   ");

    final int entryBytes;
    final String fsType;

    FatType(int entryBytes, String fsType) {
      this.entryBytes = entryBytes;
      this.fsType = fsType;
    }
  }

  int bytesPerCluster() {
    return sectorsPerCluster * SECTOR;
  }

  long rootDirSectors() {
    return (rootEntries * 32L + SECTOR - 1) / SECTOR;
  }

  long firstFatSector() {
    return reservedSectors;
  }

  long firstRootDirSector() {
    return reservedSectors + NUM_FATS * fatSectors;
  }

  long firstDataSector() {
    return firstRootDirSector() + rootDirSectors();
  }

  /** Byte offset of data cluster {@code c} (clusters start at 2). */
  long clusterOffset(long c) {
    return (firstDataSector() + (c - 2) * sectorsPerCluster) * SECTOR;
  }

  /**
   * Chooses FAT32 if the volume holds at least 65525 clusters of some size (preferring 4 KiB and
   * larger per the spec's table, then smaller), else FAT16 (fixed root directory of {@code
   * fat16RootEntries} entries).
   *
   * @throws FatFormatException if the volume is too small even for FAT16, or too large
   */
  static Geometry choose(long bytes, int fat16RootEntries) throws FatFormatException {
    long sectors = bytes / SECTOR;
    if (bytes % SECTOR != 0) {
      throw new FatFormatException("FAT volume size " + bytes + " is not a multiple of " + SECTOR);
    }
    if (sectors > 0xFFFFFFFFL) {
      throw new FatFormatException(
          "FAT volume of " + bytes + " bytes exceeds the 2^32 sectors FAT can address");
    }
    // FAT32 (spec table: up to 260 MB 512-byte clusters; larger volumes 4K, 8K, 16K, 32K); try the
    // table's size first, then smaller ones while the count stays in range.
    int preferred =
        sectors <= 532_480
            ? 8
            : sectors <= 16_777_216
                ? 8
                : sectors <= 33_554_432 ? 16 : sectors <= 67_108_864 ? 32 : 64;
    for (int spc = preferred; spc >= 1; spc /= 2) {
      Geometry g = layout(FatType.FAT32, sectors, spc, 32, 0);
      if (g != null && g.clusterCount >= MIN_FAT32 + MARGIN && g.clusterCount <= MAX_FAT32) {
        return g;
      }
    }
    // FAT16: spec table (up to 16 MB 1K clusters, 128 MB 2K, 256 MB 4K, ...), then the neighbours.
    int preferred16 =
        sectors <= 32_680
            ? 2
            : sectors <= 262_144 ? 4 : sectors <= 524_288 ? 8 : sectors <= 1_048_576 ? 16 : 32;
    for (int spc : new int[] {preferred16, 1, 2, 4, 8, 16, 32, 64}) {
      Geometry g = layout(FatType.FAT16, sectors, spc, 1, fat16RootEntries);
      if (g != null
          && g.clusterCount >= MIN_FAT16 + MARGIN
          && g.clusterCount < MIN_FAT32 - MARGIN) {
        return g;
      }
    }
    long min = minimumFat16Bytes(fat16RootEntries);
    throw new FatFormatException(
        "FAT volume of "
            + bytes
            + " bytes is too small: FAT16 needs at least "
            + min
            + " bytes ("
            + (MIN_FAT16 + MARGIN)
            + " clusters) and FAT12 is not supported");
  }

  static long minimumFat16Bytes(int rootEntries) {
    long clusters = MIN_FAT16 + MARGIN;
    long fat = ((clusters + 2) * 2 + SECTOR - 1) / SECTOR;
    return (1 + NUM_FATS * fat + (rootEntries * 32L + SECTOR - 1) / SECTOR + clusters) * SECTOR;
  }

  /**
   * Sizes the FATs for {@code spc}: the smallest FAT that covers every cluster it leaves room for.
   */
  private static Geometry layout(FatType t, long sectors, int spc, int reserved, int rootEntries) {
    long rootSectors = (rootEntries * 32L + SECTOR - 1) / SECTOR;
    long fat = 1;
    while (true) {
      long data = sectors - reserved - NUM_FATS * fat - rootSectors;
      if (data < spc) {
        return null;
      }
      long clusters = data / spc;
      long need = ((clusters + 2) * t.entryBytes + SECTOR - 1) / SECTOR;
      if (need <= fat) {
        // need() only shrinks as the FAT grows, so the first fit may overshoot: step back to the
        // smallest FAT that still covers its clusters
        while (fat > 1 && fits(t, sectors, spc, reserved, rootSectors, fat - 1)) {
          fat--;
        }
        long c = (sectors - reserved - NUM_FATS * fat - rootSectors) / spc;
        return new Geometry(t, sectors, spc, reserved, fat, rootEntries, c);
      }
      fat = need;
    }
  }

  private static boolean fits(
      FatType t, long sectors, int spc, int reserved, long rootSectors, long fat) {
    long data = sectors - reserved - NUM_FATS * fat - rootSectors;
    return data >= spc && ((data / spc + 2) * t.entryBytes + SECTOR - 1) / SECTOR <= fat;
  }
}
