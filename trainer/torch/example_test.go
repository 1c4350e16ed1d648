package torch_test

import (
	"fmt"

	"medqa/trainer/torch"
)

// Tensors made in a scope are freed with it; ops panic with *torch.Error and
// torch.Do turns that into an ordinary error.
func Example() {
	s := torch.NewScope()
	defer s.Close()

	x := torch.FromSlice(s, []float32{1, 2, 3, 4, 5, 6}, 2, 3)
	w := torch.FromSlice(s, []float32{1, 0, -1}, 3, 1)
	y := x.Matmul(s, w)
	fmt.Println(y.Shape(), torch.ToSlice[float32](y))

	err := torch.Do(func() { x.Matmul(s, x) })
	fmt.Println(err != nil)
	// Output:
	// [2 1] [-2 -2]
	// true
}

// Autograd: the gradient of sum(w·w) is 2·w.
func ExampleTensor_Backward() {
	s := torch.NewScope()
	defer s.Close()

	w := torch.FromSlice(s, []float32{0.5, -1, 3}, 3).SetRequiresGrad(true)
	w.Mul(s, w).Sum(s).Backward()
	fmt.Println(torch.ToSlice[float32](w.Grad(s)))
	// Output:
	// [1 -2 6]
}
