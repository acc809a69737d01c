package io.hashkernel.numa;

import java.util.Arrays;
import java.util.BitSet;
import java.util.stream.IntStream;

/**
 * A set of CPU (or node) numbers in the kernel's list format, {@code 0-3,8,10-11}, as sysfs and
 * {@code /proc/.../status} write it. Immutable.
 */
public final class CpuList {
    private static final CpuList EMPTY = new CpuList(new int[0]);
    private final int[] ids;

    private CpuList(int[] ids) {
        this.ids = ids;
    }

    /** The given numbers (any order, duplicates dropped). */
    public static CpuList of(int... ids) {
        for (int id : ids) {
            if (id < 0) {
                throw new IllegalArgumentException("CPU and node numbers are 0 or more, was " + id);
            }
        }
        return new CpuList(IntStream.of(ids).distinct().sorted().toArray());
    }

    /** The empty set. */
    public static CpuList empty() {
        return EMPTY;
    }

    /**
     * Parses the kernel's list format: comma-separated numbers and inclusive ranges {@code a-b};
     * an empty or blank text is the empty set.
     *
     * @throws IllegalArgumentException naming the part that is not a number or a range
     */
    public static CpuList parse(String text) {
        String t = text.trim();
        if (t.isEmpty()) {
            return EMPTY;
        }
        BitSet set = new BitSet();
        for (String part : t.split(",")) {
            String p = part.trim();
            try {
                int dash = p.indexOf('-');
                if (dash < 0) {
                    set.set(Integer.parseInt(p));
                } else {
                    int from = Integer.parseInt(p.substring(0, dash));
                    int to = Integer.parseInt(p.substring(dash + 1));
                    if (from > to) {
                        throw new NumberFormatException("descending range");
                    }
                    set.set(from, to + 1);
                }
            } catch (NumberFormatException | IndexOutOfBoundsException e) {
                throw new IllegalArgumentException("not a CPU list: '" + text.trim() + "' (part '" + p
                        + "'; expected numbers and ranges such as 0-3,8)", e);
            }
        }
        return new CpuList(set.stream().toArray());
    }

    /** The numbers, ascending (a copy). */
    public int[] toArray() {
        return ids.clone();
    }

    /** How many. */
    public int size() {
        return ids.length;
    }

    /** Whether it holds none. */
    public boolean isEmpty() {
        return ids.length == 0;
    }

    /** Whether it holds {@code id}. */
    public boolean contains(int id) {
        return Arrays.binarySearch(ids, id) >= 0;
    }

    /** The numbers in this set and not in {@code other}. */
    public CpuList minus(CpuList other) {
        return new CpuList(IntStream.of(ids).filter(i -> !other.contains(i)).toArray());
    }

    /** The largest number plus one (0 when empty). */
    public int bound() {
        return ids.length == 0 ? 0 : ids[ids.length - 1] + 1;
    }

    /** The kernel's list format, ranges folded: {@code 0-3,8}. */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < ids.length; ) {
            int j = i;
            while (j + 1 < ids.length && ids[j + 1] == ids[j] + 1) {
                j++;
            }
            if (sb.length() > 0) {
                sb.append(',');
            }
            sb.append(ids[i]);
            if (j > i) {
                sb.append('-').append(ids[j]);
            }
            i = j + 1;
        }
        return sb.toString();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CpuList c && Arrays.equals(ids, c.ids);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(ids);
    }
}
