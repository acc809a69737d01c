package io.hashkernel.kernel;

import java.util.Arrays;

/**
 * A message of an endpoint: up to {@link #MAX_WORDS} words, and optionally one page and one
 * capability that move with it. Immutable.
 *
 * <p>As sent, {@link #frame()} is the sender's virtual address of the page to move (the page is
 * unmapped from the sender when the send succeeds, and the sender's segment of it throws from
 * then on) and {@link #capability()} the sender's slot of the capability to pass, with the rights
 * to pass ({@link #capabilityRights()}, at most those the sender holds). As received,
 * {@link #frame()} is where the kernel mapped the page in the receiver, and
 * {@link #capability()} the receiver's new slot. A page that could not reach the receiver (its
 * container's quota had no room, or the sender's container was killed while the page was in
 * flight) is freed, and {@link #frameError()} says why.
 */
public final class Message {
    /** The most words a message carries. */
    public static final int MAX_WORDS = 64;
    /** {@link #frame()} and {@link #capability()} of a message without one. */
    public static final int NONE = -1;

    private final long[] words;
    private final long frame;
    private final int capability;
    private final Rights capabilityRights;
    private final KernelError frameError;
    /** In flight: the mapping of the page moving with it (0 if none). */
    final long transit;
    /** In flight: the capability moving with it, as a capability table packs it (0 if none). */
    final long passedCapability;

    private Message(long[] words, long frame, int capability, Rights capabilityRights, KernelError frameError,
                    long transit, long passedCapability) {
        this.words = words;
        this.frame = frame;
        this.capability = capability;
        this.capabilityRights = capabilityRights;
        this.frameError = frameError;
        this.transit = transit;
        this.passedCapability = passedCapability;
    }

    /**
     * A message of these words (copied).
     *
     * @throws IllegalArgumentException for more than {@link #MAX_WORDS}
     */
    public static Message of(long... words) {
        if (words.length > MAX_WORDS) {
            throw new IllegalArgumentException("a message carries at most " + MAX_WORDS + " words, was " + words.length);
        }
        return new Message(words.clone(), NONE, NONE, null, null, 0, 0);
    }

    /**
     * This message with the page mapped at the sender's virtual address {@code va} moving with it.
     *
     * @throws IllegalArgumentException if {@code va} is negative or not page-aligned
     */
    public Message withFrame(long va) {
        if (va < 0 || (va & (Kernel.PAGE - 1)) != 0) {
            throw new IllegalArgumentException("a page moves from a 4 KiB-aligned virtual address, was 0x" + Long.toHexString(va));
        }
        return new Message(words, va, capability, capabilityRights, null, 0, 0);
    }

    /**
     * This message with the sender's capability in {@code slot} passed on with {@code rights}
     * (the send needs the grant right on the endpoint, and at least these rights on the slot).
     *
     * @throws IllegalArgumentException if {@code slot} is negative or {@code rights} null
     */
    public Message withCapability(int slot, Rights rights) {
        if (slot < 0 || rights == null) {
            throw new IllegalArgumentException("a capability is passed from a slot (0 or more) with rights, was "
                    + slot + ", " + rights);
        }
        return new Message(words, frame, slot, rights, null, 0, 0);
    }

    /** In flight: this message's words with the kernel's record of what moves with it. */
    Message inFlight(long transit, long passedCapability) {
        return new Message(words, NONE, NONE, null, null, transit, passedCapability);
    }

    /** As received: the page and capability where they now are in the receiver. */
    Message received(long frame, KernelError frameError, int capability, Rights capabilityRights) {
        return new Message(words, frame, capability, capabilityRights, frameError, 0, 0);
    }

    /** How many words it carries. */
    public int length() {
        return words.length;
    }

    /**
     * Word {@code i}.
     *
     * @throws IndexOutOfBoundsException outside {@code [0, length())}
     */
    public long word(int i) {
        return words[i];
    }

    /** A copy of its words. */
    public long[] words() {
        return words.clone();
    }

    /** The page's virtual address (the sender's as sent, the receiver's as received), or {@link #NONE}. */
    public long frame() {
        return frame;
    }

    /** Why a page sent with it did not arrive, or null. */
    public KernelError frameError() {
        return frameError;
    }

    /** The capability's slot (the sender's as sent, the receiver's as received), or {@link #NONE}. */
    public int capability() {
        return capability;
    }

    /** The rights the capability is passed with, or null if it carries none. */
    public Rights capabilityRights() {
        return capabilityRights;
    }

    /** Whether a page or a capability moves with it (such a send and receive take the kernel's lock). */
    boolean carries() {
        return frame != NONE || capability != NONE;
    }

    @Override
    public String toString() {
        return "Message" + Arrays.toString(words) + (frame != NONE ? ", page at 0x" + Long.toHexString(frame) : "")
                + (frameError != null ? ", page lost: " + frameError : "")
                + (capability != NONE ? ", capability " + capability + " " + capabilityRights : "");
    }
}
