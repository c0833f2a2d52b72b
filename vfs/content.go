package vfs

import "github.com/tetratelabs/wazero/experimental/sys"

// blockSize is the unit of a writable file's owned content.
const blockSize = 64 << 10

// blockEntryCost is what one slot of a content's block table costs.
const blockEntryCost = 24

// content is the owned bytes of a regular file of a writable tree, in
// blocks of blockSize, so that a file grows without copying what it holds
// (host memory stays close to the bytes written) and a hole costs nothing.
// A block holds a prefix of its bytes, grown on demand up to blockSize;
// bytes past a block's prefix, and nil blocks, read as zeros.
type content struct {
	blocks [][]byte
	size   int64
}

// charged is what c holds of the host: its blocks and its block table.
func (c *content) charged() int64 {
	n := int64(cap(c.blocks)) * blockEntryCost
	for _, b := range c.blocks {
		n += int64(cap(b))
	}
	return n
}

// readAt copies into buf the bytes from off, up to the size.
func (c *content) readAt(buf []byte, off int64) int {
	if off >= c.size {
		return 0
	}
	buf = buf[:min(int64(len(buf)), c.size-off)]
	for done := 0; done < len(buf); {
		i, at := (off+int64(done))/blockSize, (off+int64(done))%blockSize
		want := min(len(buf)-done, blockSize-int(at))
		var have int
		if b := c.blocks[i]; int(at) < len(b) {
			have = copy(buf[done:done+want], b[at:])
		}
		clear(buf[done+have : done+want])
		done += want
	}
	return len(buf)
}

// writeAt writes b at off, growing the size, charging budget for the
// memory it allocates. It writes nothing when the budget cannot hold it.
func (c *content) writeAt(bud *budget, b []byte, off int64) sys.Errno {
	end, size := off+int64(len(b)), c.size
	if end > size {
		if errno := c.setSize(bud, end); errno != 0 {
			return errno
		}
	}
	// Allocate every block the write touches first, so a failure changes
	// no byte.
	for p := off; p < end; {
		i, at := p/blockSize, p%blockSize
		upto := min(end-p+at, blockSize)
		if errno := c.grow(bud, i, upto); errno != 0 {
			if end > size {
				c.setSize(bud, size)
			}
			return errno
		}
		p += upto - at
	}
	for done := 0; done < len(b); {
		p := off + int64(done)
		i, at := p/blockSize, p%blockSize
		done += copy(c.blocks[i][at:], b[done:])
	}
	return 0
}

// grow makes block i hold at least its first upto bytes: at least double
// its allocation (the amortized growth of a slice), at most blockSize.
func (c *content) grow(bud *budget, i, upto int64) sys.Errno {
	b := c.blocks[i]
	have := int64(len(b))
	if upto <= have {
		return 0
	}
	want := min(blockSize, max(upto, 2*have, 512))
	grant, errno := bud.reserveUpTo(upto-have, want-have)
	if errno != 0 {
		return errno
	}
	grown := make([]byte, have+grant)
	copy(grown, b)
	c.blocks[i] = grown
	return 0
}

// setSize sets the size: blocks past it are freed and the bytes of the
// last block past it zeroed, so that growing again reads zeros; growing
// adds holes.
func (c *content) setSize(bud *budget, size int64) sys.Errno {
	nblocks := int((size + blockSize - 1) / blockSize)
	if nblocks > cap(c.blocks) {
		want := max(nblocks, 2*cap(c.blocks))
		grant, errno := bud.reserveUpTo(int64(nblocks-cap(c.blocks))*blockEntryCost, int64(want-cap(c.blocks))*blockEntryCost)
		if errno != 0 {
			return errno
		}
		table := make([][]byte, len(c.blocks), cap(c.blocks)+int(grant/blockEntryCost))
		copy(table, c.blocks)
		c.blocks = table
	}
	if size < c.size {
		var freed int64
		for i := nblocks; i < len(c.blocks); i++ {
			freed += int64(cap(c.blocks[i]))
			c.blocks[i] = nil
		}
		if at := size % blockSize; at != 0 && nblocks > 0 {
			if b := c.blocks[nblocks-1]; int64(len(b)) > at {
				clear(b[at:])
			}
		}
		if nblocks < cap(c.blocks)/4 {
			table := make([][]byte, nblocks)
			copy(table, c.blocks)
			freed += int64(cap(c.blocks)-nblocks) * blockEntryCost
			c.blocks = table
		}
		bud.release(freed)
	}
	c.blocks = c.blocks[:nblocks]
	c.size = size
	return 0
}

// free releases everything c holds.
func (c *content) free(bud *budget) {
	bud.release(c.charged())
	*c = content{}
}
