package helpdesk

import "github.com/hubdesk/hubdesk/internal/database"

// OnBatch shows f each view's batch before it runs.
func (v *Viewer) OnBatch(f func(*database.Batch)) { v.batched = f }
