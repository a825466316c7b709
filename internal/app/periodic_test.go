package app

import (
	"slices"
	"testing"
)

// TestPeriodicTasksOfTheFleet: the schedule tick and the hourly clean-up (what the Settings page
// says runs by itself) are registered as periodic tasks, each with its service built.
func TestPeriodicTasksOfTheFleet(t *testing.T) {
	t.Parallel()
	r := start(t, testConfig(t), Options{Version: "t1"})
	var names []string
	for _, task := range r.app.periodicTasks() {
		if task.Run == nil {
			t.Fatalf("task %s has no Run", task.Name)
		}
		names = append(names, task.Name)
	}
	for _, want := range []string{"schedules.tick", "retention.cleanup", "workers.age-out"} {
		if !slices.Contains(names, want) {
			t.Errorf("periodic tasks %v lack %s", names, want)
		}
	}
	if r.app.retention == nil || r.app.schedules == nil {
		t.Fatal("a periodic task's service was not built")
	}
}
